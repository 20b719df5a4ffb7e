using System.Collections.Concurrent;
using Npgsql;
using Wrenn.Silo.Runtime.Grains;

namespace Wrenn.Silo.Runtime.Directory;

/// <summary>
/// Where each grain's one activation lives (the incarnation hosting it), and which silo pinned grains
/// belong to. PostgreSQL is the arbiter: an activation exists only after its registration won the
/// row. Lookups are cached here and dropped when a call finds them stale.
/// </summary>
internal sealed class GrainDirectory(NpgsqlDataSource dataSource)
{
    private readonly ConcurrentDictionary<GrainId, long> _cache = new();
    private readonly ConcurrentDictionary<GrainId, string> _pins = new();
    private readonly ConcurrentDictionary<GrainId, Lazy<Task<long?>>> _lookups = new();

    /// <summary>The incarnation hosting the grain, if any. Concurrent lookups of one grain share one query.</summary>
    public Task<long?> LookupAsync(GrainId grain, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(grain, out var cached))
            return Task.FromResult<long?>(cached);
        var lookup = _lookups.GetOrAdd(grain, id => new Lazy<Task<long?>>(() => ReadAsync(id)));
        return lookup.Value.WaitAsync(cancellationToken);
    }

    private async Task<long?> ReadAsync(GrainId grain)
    {
        try
        {
            // Not the caller's token: other callers share this query.
            return await QueryAsync(grain, CancellationToken.None);
        }
        finally
        {
            _lookups.TryRemove(grain, out _);
        }
    }

    private async Task<long?> QueryAsync(GrainId grain, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT incarnation FROM wrenn_grain_directory WHERE grain_id = $1");
        command.Parameters.Add(new() { Value = grain.ToString() });
        if (await command.ExecuteScalarAsync(cancellationToken) is not long incarnation)
            return null;
        _cache[grain] = incarnation;
        return incarnation;
    }

    public void Forget(GrainId grain) => _cache.TryRemove(grain, out _);

    /// <summary>Drops cached entries that point at incarnations no longer live.</summary>
    public void ForgetAllBut(IReadOnlySet<long> liveIncarnations)
    {
        foreach (var (grain, incarnation) in _cache)
        {
            if (!liveIncarnations.Contains(incarnation))
                _cache.TryRemove(new KeyValuePair<GrainId, long>(grain, incarnation));
        }
    }

    /// <summary>
    /// Claims the grain for <paramref name="incarnation"/>: wins when no entry exists, when the entry
    /// is already ours, or when it belongs to an incarnation that is no longer active; and only while
    /// our own incarnation is active (a fenced silo cannot register). Returns the owner after the attempt.
    /// </summary>
    public async Task<long?> RegisterAsync(GrainId grain, long incarnation, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            WITH claim AS (
                INSERT INTO wrenn_grain_directory AS d (grain_id, incarnation)
                SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM wrenn_silos WHERE incarnation = $2 AND status = 'active')
                ON CONFLICT (grain_id) DO UPDATE SET incarnation = EXCLUDED.incarnation, registered_at = now()
                WHERE d.incarnation = EXCLUDED.incarnation
                   OR NOT EXISTS (SELECT 1 FROM wrenn_silos s WHERE s.incarnation = d.incarnation AND s.status = 'active')
                RETURNING incarnation)
            SELECT incarnation FROM claim
            UNION ALL
            SELECT incarnation FROM wrenn_grain_directory WHERE grain_id = $1 AND NOT EXISTS (SELECT 1 FROM claim)
            """);
        command.Parameters.Add(new() { Value = grain.ToString() });
        command.Parameters.Add(new() { Value = incarnation });
        // A registration that raced ours and committed after this statement began is not in its
        // snapshot; a fresh read sees it. Null means our own incarnation is not active (fenced).
        var owner = await command.ExecuteScalarAsync(cancellationToken) as long? ?? await ReadOwnerAsync(grain, cancellationToken);
        if (owner is { } known)
            _cache[grain] = known;
        return owner;
    }

    private async Task<long?> ReadOwnerAsync(GrainId grain, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT incarnation FROM wrenn_grain_directory WHERE grain_id = $1");
        command.Parameters.Add(new() { Value = grain.ToString() });
        return await command.ExecuteScalarAsync(cancellationToken) as long?;
    }

    public async Task UnregisterAsync(GrainId grain, long incarnation, CancellationToken cancellationToken)
    {
        _cache.TryRemove(new KeyValuePair<GrainId, long>(grain, incarnation));
        await using var command = dataSource.CreateCommand("DELETE FROM wrenn_grain_directory WHERE grain_id = $1 AND incarnation = $2");
        command.Parameters.Add(new() { Value = grain.ToString() });
        command.Parameters.Add(new() { Value = incarnation });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// The silo a pinned grain belongs to, pinning it to <paramref name="pinTo"/> if it has none yet;
    /// with no <paramref name="pinTo"/>, null for a grain never pinned (it does not exist).
    /// </summary>
    public async Task<string?> PinAsync(GrainId grain, string? pinTo, CancellationToken cancellationToken)
    {
        if (_pins.TryGetValue(grain, out var pinned))
            return pinned;
        if (pinTo is null)
        {
            await using var lookup = dataSource.CreateCommand("SELECT silo_name FROM wrenn_grain_pins WHERE grain_id = $1");
            lookup.Parameters.Add(new() { Value = grain.ToString() });
            if (await lookup.ExecuteScalarAsync(cancellationToken) is not string found)
                return null;
            _pins[grain] = found;
            return found;
        }
        await using var command = dataSource.CreateCommand("""
            WITH pin AS (INSERT INTO wrenn_grain_pins (grain_id, silo_name) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING silo_name)
            SELECT silo_name FROM pin UNION ALL SELECT silo_name FROM wrenn_grain_pins WHERE grain_id = $1 AND NOT EXISTS (SELECT 1 FROM pin)
            """);
        command.Parameters.Add(new() { Value = grain.ToString() });
        command.Parameters.Add(new() { Value = pinTo });
        pinned = await command.ExecuteScalarAsync(cancellationToken) as string ?? await ReadPinAsync(grain, cancellationToken);
        _pins[grain] = pinned;
        return pinned;
    }

    private async Task<string> ReadPinAsync(GrainId grain, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT silo_name FROM wrenn_grain_pins WHERE grain_id = $1");
        command.Parameters.Add(new() { Value = grain.ToString() });
        return (string)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
