using Orleans.Concurrency;

namespace Wrenn.Grains.Sandboxes;

/// <summary>A sandbox's record was written: how it is now, and the state it had before (null for a new sandbox).</summary>
[GenerateSerializer]
[Alias("wrenn.SandboxChange")]
public sealed record SandboxChange([Id(0)] SandboxInfo Sandbox, [Id(1)] SandboxState? Before)
{
    public bool StateChanged => Before != Sandbox.State;
}

/// <summary>
/// One per host, on that host's silo: receives the sandbox changes written on other hosts and hands
/// them to this host's listeners (the API's pushed <c>sandboxEvents</c>), so a subscriber on any
/// silo hears every change at once.
/// </summary>
[Alias("wrenn.sandbox-events")]
public interface ISandboxEventsGrain : IGrainWithStringKey
{
    [Alias("deliver")]
    [OneWay]
    Task DeliverAsync(SandboxChange change);
}
