using System.Collections.Concurrent;

namespace Wrenn.Silo.Ports;

/// <summary>
/// Where other hosts' silos serve their APIs, read from the database and kept for a few seconds (a
/// silo that restarts on another port publishes it again; <see cref="Forget"/> drops an address that
/// stopped answering before its time).
/// </summary>
public sealed class SiloApis(PortStore store)
{
    private const long KeptForMs = 10_000;
    private readonly ConcurrentDictionary<string, (Uri Url, long ReadAtMs)> _known = new();

    public async Task<Uri?> FindAsync(string host, CancellationToken cancellationToken)
    {
        var now = Environment.TickCount64;
        if (_known.TryGetValue(host, out var known) && now - known.ReadAtMs < KeptForMs)
            return known.Url;
        var url = await store.FindApiAsync(host, cancellationToken);
        if (url is null)
            _known.TryRemove(host, out _);
        else
            _known[host] = (url, now);
        return url;
    }

    public void Forget(string host) => _known.TryRemove(host, out _);
}
