using System.Security.Cryptography;
using Npgsql;

namespace Wrenn.Silo.Ports;

/// <summary>Port forwarding's rows in the cluster's database: the shared signing key and where each silo serves its API.</summary>
public sealed class PortStore(NpgsqlDataSource dataSource)
{
    private const string SigningKeyName = "port-urls";

    /// <summary>The cluster's port URL key: made by the first silo that asks (racing silos agree on the row that won).</summary>
    public async Task<byte[]> SigningKeyAsync(CancellationToken cancellationToken)
    {
        await using (var insert = dataSource.CreateCommand("INSERT INTO wrenn_cluster_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"))
        {
            insert.Parameters.Add(new() { Value = SigningKeyName });
            insert.Parameters.Add(new() { Value = RandomNumberGenerator.GetBytes(PortTokens.KeyBytes) });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var select = dataSource.CreateCommand("SELECT secret FROM wrenn_cluster_secrets WHERE name = $1");
        select.Parameters.Add(new() { Value = SigningKeyName });
        return (byte[])(await select.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task PublishApiAsync(string host, Uri url, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "INSERT INTO wrenn_silo_apis (host, url) VALUES ($1, $2) ON CONFLICT (host) DO UPDATE SET url = excluded.url, updated_at = now()");
        command.Parameters.Add(new() { Value = host });
        command.Parameters.Add(new() { Value = url.ToString() });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<Uri?> FindApiAsync(string host, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT url FROM wrenn_silo_apis WHERE host = $1");
        command.Parameters.Add(new() { Value = host });
        return await command.ExecuteScalarAsync(cancellationToken) is string url ? new Uri(url) : null;
    }
}
