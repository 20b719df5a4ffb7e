using Orleans.Runtime;

namespace Wrenn.Silo.Cluster;

/// <summary>The hosts of the cluster as this silo sees them: a host is a silo's name, kept across its restarts.</summary>
public sealed class ClusterHosts(IClusterMembershipService membership, ILocalSiloDetails local)
{
    /// <summary>This silo's host.</summary>
    public string Local => local.Name;

    /// <summary>Hosts whose silo is an active member now.</summary>
    public IReadOnlyList<string> Live() =>
        membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.Name).Distinct().Order(StringComparer.Ordinal).ToList();

    public bool IsLive(string host) => membership.CurrentSnapshot.Members.Values.Any(m => m.Status == SiloStatus.Active && m.Name == host);

    /// <summary>Every host the cluster remembers (active or not), with whether it is live.</summary>
    public IReadOnlyList<(string Host, bool Live)> Known() =>
        membership.CurrentSnapshot.Members.Values.GroupBy(m => m.Name)
            .Select(g => (g.Key, g.Any(m => m.Status == SiloStatus.Active))).OrderBy(h => h.Key, StringComparer.Ordinal).ToList();
}
