namespace Wrenn.Grains.Sandboxes;

// Port forwarding's wire types (they cross silos): add members with new ids, never renumber.

/// <summary>
/// How a sandbox's guest is reached for port forwarding, as its grain sees it at the moment of the call.
/// </summary>
/// <param name="Host">The host that runs the sandbox: requests for it are forwarded to that host's silo.</param>
/// <param name="Address">Running, on its host: the address the host reaches the guest at (any port of it); otherwise null.</param>
/// <param name="PathKey">Changes whenever the network path to the guest does (a resume, another slot): connections kept for an older key lead nowhere.</param>
[GenerateSerializer]
[Alias("wrenn.GuestRoute")]
public sealed record GuestRoute(
    [Id(0)] string Host,
    [Id(1)] SandboxState State,
    [Id(2)] string? Address,
    [Id(3)] string? PathKey,
    [Id(4)] DateTimeOffset CreatedAt);

/// <summary>A TCP port something listens on in the guest.</summary>
/// <param name="Address">The address it is bound to in the guest ("0.0.0.0", "::", "127.0.0.1", …).</param>
/// <param name="Reachable">Whether port forwarding reaches it: bound to every address or to the guest's own, not to loopback only.</param>
/// <param name="Pid">The guest process holding it, when the agent found one.</param>
[GenerateSerializer]
[Alias("wrenn.ListeningPort")]
public sealed record ListeningPort(
    [Id(0)] int Port,
    [Id(1)] string Address,
    [Id(2)] bool Reachable,
    [Id(3)] int? Pid,
    [Id(4)] string? Command);
