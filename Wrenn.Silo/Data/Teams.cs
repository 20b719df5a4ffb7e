using System.Security.Cryptography;
using System.Text;
using Npgsql;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.Silo.Data;

public sealed record Team(string Id, string Name, DateTimeOffset CreatedAt);

/// <summary>A key as listed: never the secret, only its hint.</summary>
public sealed record ApiKeyInfo(string Id, string TeamId, Role Role, string Hint, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>A new key: the secret is shown once and never stored.</summary>
public sealed record NewApiKey(ApiKeyInfo Info, string Secret);

/// <summary>Teams and API keys. Keys are <c>wrn_</c> + 43 URL-safe characters (256 random bits); only their SHA-256 is stored.</summary>
public sealed class Teams(NpgsqlDataSource dataSource)
{
    public const string KeyPrefix = "wrn_";

    public async Task<Team> CreateTeamAsync(string name, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 64)
            throw new ArgumentException("A team name is 1 to 64 characters.", nameof(name));
        await using var command = dataSource.CreateCommand("INSERT INTO wrenn_teams (id, name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING created_at");
        var id = $"team-{Guid.NewGuid():D}";
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = name });
        return await command.ExecuteScalarAsync(cancellationToken) is DateTime created
            ? new Team(id, name, created)
            : throw new InvalidOperationException($"A team named '{name}' already exists.");
    }

    public async Task<Team?> FindTeamAsync(string idOrName, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT id, name, created_at FROM wrenn_teams WHERE id = $1 OR name = $1");
        command.Parameters.Add(new() { Value = idOrName });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new Team(reader.GetString(0), reader.GetString(1), reader.GetDateTime(2)) : null;
    }

    public async Task<bool> AnyTeamAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT EXISTS (SELECT 1 FROM wrenn_teams)");
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<NewApiKey> CreateKeyAsync(string teamId, Role role, CancellationToken cancellationToken)
    {
        var secret = KeyPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        var id = $"key-{Guid.NewGuid():D}";
        var hint = $"{secret[..8]}…{secret[^4..]}";
        await using var command = dataSource.CreateCommand("INSERT INTO wrenn_api_keys (id, team_id, role, hash, hint) VALUES ($1, $2, $3, $4, $5) RETURNING created_at");
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = teamId });
        command.Parameters.Add(new() { Value = role.ToString().ToLowerInvariant() });
        command.Parameters.Add(new() { Value = Hash(secret) });
        command.Parameters.Add(new() { Value = hint });
        try
        {
            var created = (DateTime)(await command.ExecuteScalarAsync(cancellationToken))!;
            return new NewApiKey(new ApiKeyInfo(id, teamId, role, hint, created, null), secret);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            throw new InvalidOperationException($"No team {teamId}.");
        }
    }

    /// <summary>The caller a key stands for, or null for an unknown or revoked key.</summary>
    public async Task<Caller?> AuthenticateAsync(string secret, CancellationToken cancellationToken)
    {
        if (!secret.StartsWith(KeyPrefix, StringComparison.Ordinal) || secret.Length > 200)
            return null;
        await using var command = dataSource.CreateCommand("SELECT id, team_id, role FROM wrenn_api_keys WHERE hash = $1 AND revoked_at IS NULL");
        command.Parameters.Add(new() { Value = Hash(secret) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new Caller(reader.GetString(1), reader.GetString(0), reader.GetString(2) == "admin" ? Role.Admin : Role.Member)
            : null;
    }

    public async Task<bool> RevokeKeyAsync(string keyId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("UPDATE wrenn_api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL");
        command.Parameters.Add(new() { Value = keyId });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
