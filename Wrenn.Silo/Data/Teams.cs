using System.Security.Cryptography;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.Silo.Data;

public sealed record Team(string Id, string Name, DateTimeOffset CreatedAt);

/// <summary>A key as listed: never the secret, only its hint.</summary>
public sealed record ApiKeyInfo(string Id, string TeamId, Role Role, string Hint, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt,
    DateTimeOffset? ExpiresAt = null, DateTimeOffset? LastUsedAt = null);

/// <summary>A new key: the secret is shown once and never stored.</summary>
public sealed record NewApiKey(ApiKeyInfo Info, string Secret);

/// <summary>
/// Teams and API keys. Keys are <c>wrn_</c> + 43 URL-safe characters (256 random bits); only their
/// SHA-256 is stored. A key may expire; when it was last used is written at most once a
/// <see cref="LastUseResolution"/> per key (an authentication reads it and writes only when it is older).
/// </summary>
public sealed class Teams(NpgsqlDataSource dataSource)
{
    public const string KeyPrefix = "wrn_";

    /// <summary>How precise a key's last-used time is: the price of knowing it is one write per key this often, not one per request.</summary>
    public static readonly TimeSpan LastUseResolution = TimeSpan.FromMinutes(1);

    private const string KeyColumns = "id, team_id, role, hint, created_at, revoked_at, expires_at, last_used_at";

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

    public Task<NewApiKey> CreateKeyAsync(string teamId, Role role, CancellationToken cancellationToken) => CreateKeyAsync(teamId, role, null, cancellationToken);

    /// <param name="expiresAt">When the key stops working (null: never); it must lie in the future.</param>
    public async Task<NewApiKey> CreateKeyAsync(string teamId, Role role, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        if (expiresAt is { } expiry && expiry <= DateTimeOffset.UtcNow)
            throw new ArgumentException($"expiresAt {expiry.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'} is in the past; give a time to come (or none for a key that does not expire).", nameof(expiresAt));
        var secret = KeyPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        var id = $"key-{Guid.NewGuid():D}";
        var hint = $"{secret[..8]}…{secret[^4..]}";
        await using var command = dataSource.CreateCommand("INSERT INTO wrenn_api_keys (id, team_id, role, hash, hint, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at");
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = teamId });
        command.Parameters.Add(new() { Value = role.ToString().ToLowerInvariant() });
        command.Parameters.Add(new() { Value = Hash(secret) });
        command.Parameters.Add(new() { Value = hint });
        command.Parameters.Add(new() { Value = (object?)expiresAt?.UtcDateTime ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        try
        {
            var created = (DateTime)(await command.ExecuteScalarAsync(cancellationToken))!;
            return new NewApiKey(new ApiKeyInfo(id, teamId, role, hint, created, null, expiresAt), secret);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            throw new InvalidOperationException($"No team {teamId}.");
        }
    }

    /// <summary>The caller a key stands for, or null for an unknown, revoked or expired key.</summary>
    public async Task<Caller?> AuthenticateAsync(string secret, CancellationToken cancellationToken)
    {
        if (!secret.StartsWith(KeyPrefix, StringComparison.Ordinal) || secret.Length > 200)
            return null;
        await using var command = dataSource.CreateCommand("""
            SELECT id, team_id, role, last_used_at IS NULL OR last_used_at < now() - $2 FROM wrenn_api_keys
            WHERE hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
            """);
        command.Parameters.Add(new() { Value = Hash(secret) });
        command.Parameters.Add(new() { Value = LastUseResolution, NpgsqlDbType = NpgsqlDbType.Interval });
        Caller caller;
        bool stale;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
                return null;
            caller = new Caller(reader.GetString(1), reader.GetString(0), reader.GetString(2) == "admin" ? Role.Admin : Role.Member);
            stale = reader.GetBoolean(3);
        }
        if (stale)
            await MarkUsedAsync(caller.KeyId!, cancellationToken);
        return caller;
    }

    /// <summary>The key's last use is now; a no-op when another request (or silo) wrote it within the resolution.</summary>
    private async Task MarkUsedAsync(string keyId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "UPDATE wrenn_api_keys SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - $2)");
        command.Parameters.Add(new() { Value = keyId });
        command.Parameters.Add(new() { Value = LastUseResolution, NpgsqlDbType = NpgsqlDbType.Interval });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A team's keys, oldest first, revoked and expired ones included; never their secrets.</summary>
    public async Task<IReadOnlyList<ApiKeyInfo>> KeysAsync(string teamId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {KeyColumns} FROM wrenn_api_keys WHERE team_id = $1 ORDER BY created_at, id");
        command.Parameters.Add(new() { Value = teamId });
        var keys = new List<ApiKeyInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            DateTimeOffset? At(int i) => reader.IsDBNull(i) ? null : new DateTimeOffset(reader.GetDateTime(i), TimeSpan.Zero);
            keys.Add(new ApiKeyInfo(reader.GetString(0), reader.GetString(1), reader.GetString(2) == "admin" ? Role.Admin : Role.Member, reader.GetString(3),
                At(4)!.Value, At(5), At(6), At(7)));
        }
        return keys;
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
