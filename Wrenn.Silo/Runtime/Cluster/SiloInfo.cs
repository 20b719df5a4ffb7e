namespace Wrenn.Silo.Runtime.Cluster;

public enum SiloStatus { Active, Dead, Left }

/// <summary>One incarnation of a silo as the membership table knows it.</summary>
/// <param name="HeartbeatAge">How long ago it last heartbeat, by the database's clock, when read.</param>
public sealed record SiloInfo(long Incarnation, string Name, Uri Endpoint, SiloStatus Status, TimeSpan HeartbeatAge)
{
    public override string ToString() => $"{Name}#{Incarnation}";
}
