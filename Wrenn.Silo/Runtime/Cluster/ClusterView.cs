namespace Wrenn.Silo.Runtime.Cluster;

/// <summary>A snapshot of the membership table, refreshed every heartbeat.</summary>
internal sealed class ClusterView(IReadOnlyList<SiloInfo> silos, TimeSpan suspectAfter)
{
    private readonly Dictionary<long, SiloInfo> _byIncarnation = silos.ToDictionary(s => s.Incarnation);
    private readonly Dictionary<string, SiloInfo> _latestByName = silos.GroupBy(s => s.Name).ToDictionary(g => g.Key, g => g.MaxBy(s => s.Incarnation)!);

    public static ClusterView Empty { get; } = new([], TimeSpan.MaxValue);

    public IReadOnlyList<SiloInfo> Silos => silos;

    /// <summary>Active and heartbeating: the silos calls may be placed on.</summary>
    public IReadOnlyList<SiloInfo> Live { get; } = silos.Where(s => s.Status == SiloStatus.Active && s.HeartbeatAge < suspectAfter).ToList();

    public long MaxIncarnation { get; } = silos.Count == 0 ? 0 : silos.Max(s => s.Incarnation);

    public SiloInfo? ByIncarnation(long incarnation) => _byIncarnation.GetValueOrDefault(incarnation);

    public SiloInfo? LatestByName(string name) => _latestByName.GetValueOrDefault(name);

    public bool IsSuspected(SiloInfo silo) => silo.Status == SiloStatus.Active && silo.HeartbeatAge >= suspectAfter;
}
