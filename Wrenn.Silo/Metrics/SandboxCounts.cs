using Npgsql;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.Silo.Metrics;

/// <summary>
/// This host's sandboxes by state, counted in the database when <c>/metrics</c> is scraped (the gauge
/// reports the last count): one small grouped query per scrape, nothing kept in step by hand.
/// </summary>
public sealed class SandboxCounts(NpgsqlDataSource dataSource)
{
    private IReadOnlyDictionary<SandboxState, long> _byState = new Dictionary<SandboxState, long>();

    public IReadOnlyDictionary<SandboxState, long> ByState => _byState;

    public async Task RefreshAsync(string host, CancellationToken cancellationToken)
    {
        var counts = Enum.GetValues<SandboxState>().ToDictionary(s => s, _ => 0L);
        await using var command = dataSource.CreateCommand("SELECT state, count(*) FROM wrenn_sandboxes WHERE host = $1 GROUP BY state");
        command.Parameters.Add(new() { Value = host });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (Enum.TryParse<SandboxState>(reader.GetString(0), out var state))
                counts[state] = reader.GetInt64(1);
        }
        _byState = counts;
    }
}
