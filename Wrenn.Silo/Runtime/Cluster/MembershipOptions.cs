namespace Wrenn.Silo.Runtime.Cluster;

/// <summary>Failure detection. A silo is suspected after <see cref="SuspectAfter"/> without a heartbeat and declared dead when enough live silos agree.</summary>
public sealed record MembershipOptions
{
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Missed heartbeats before a silo is suspected; several, so that one slow write is not a death.</summary>
    public int MissedHeartbeats { get; init; } = 5;

    /// <summary>Live silos that must suspect a silo before it is declared dead (fewer if fewer are alive).</summary>
    public int VotesToDeclareDead { get; init; } = 2;

    /// <summary>The failure-detection time: how long a silo may go without a heartbeat before it is suspected.</summary>
    public TimeSpan SuspectAfter => HeartbeatInterval * MissedHeartbeats;

    /// <summary>
    /// How long a silo keeps serving after its last successful heartbeat started. Shorter than
    /// <see cref="SuspectAfter"/>, so a silo cut off from the database stops serving before others
    /// can declare it dead and re-activate its grains: there are never two activations of a grain.
    /// </summary>
    public TimeSpan Lease => SuspectAfter - HeartbeatInterval;
}
