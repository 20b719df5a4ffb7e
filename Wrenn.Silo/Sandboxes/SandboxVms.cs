using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Clock;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Silo.Sandboxes;

/// <summary>
/// Composes the host plugins into sandbox VMs. Each lifecycle operation reads top to bottom in its
/// own file (SandboxVms.Create.cs, SandboxVms.Destroy.cs), in the order of docs/ARCHITECTURE.md,
/// with every acquisition paired with its undo.
/// </summary>
public sealed partial class SandboxVms(
    IVmm vmm,
    IStorage storage,
    INetwork network,
    PluginHost host,
    ILogger<SandboxVms> logger,
    IGuestClock? clock = null,
    IMemoryBackend? memory = null)
{
    /// <summary>How long a booting guest gets to answer: VMs run under emulation on some hosts (seconds, not milliseconds).</summary>
    public TimeSpan AgentReadyTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>A VM's own folder: console log, QMP socket, pid file. Short, as sockets in it must stay under 108 bytes.</summary>
    public string WorkDirFor(string sandboxId) => Path.Combine(host.RuntimeDir, "vms", sandboxId);

    /// <summary>Where a paused sandbox's snapshot lives (durable: it must survive a host reboot).</summary>
    public string SnapshotDirFor(string sandboxId) => Path.Combine(host.DataDir, "snapshots", sandboxId);

    /// <summary>
    /// After every boot and restore: the clock is set, the RNG reseeded (clones must diverge). A
    /// restored guest whose agent can settle (<paramref name="health"/> lists it) gets both in one
    /// round trip; the clock plugin's own, longer way runs only if that left the clock off.
    /// </summary>
    private async Task SettleGuestAsync(string sandboxId, Wrenn.Guest.Protocol.AgentClient agent, bool restored, CancellationToken cancellationToken,
        Wrenn.Guest.Protocol.V1.HealthResponse? health = null)
    {
        if (restored && health?.Capabilities.Contains(Wrenn.Guest.Protocol.AgentEndpoint.Capabilities.ClockRestore) == true)
        {
            var sent = DateTimeOffset.UtcNow;
            var guestTime = await agent.SettleAsync(sent, System.Security.Cryptography.RandomNumberGenerator.GetBytes(64), cancellationToken);
            var received = DateTimeOffset.UtcNow;
            // The guest read its clock just after setting it, about half the round trip after `sent`.
            var offset = guestTime - (sent + (received - sent) / 2);
            if (clock is null || offset.Duration() <= SettleTolerance)
                return;
            LogSettleOff(sandboxId, offset.TotalMilliseconds);
            await clock.SyncAsync(new AgentGuestControl(sandboxId, agent), cancellationToken);
            return;
        }
        if (restored)
            await agent.ReseedRandomAsync(System.Security.Cryptography.RandomNumberGenerator.GetBytes(64), cancellationToken);
        if (clock is not null)
            await clock.SyncAsync(new AgentGuestControl(sandboxId, agent), cancellationToken);
    }

    /// <summary>How far off a settled guest clock may be before the clock plugin sets it its own way (the plugin's own tolerance).</summary>
    private static readonly TimeSpan SettleTolerance = TimeSpan.FromMilliseconds(100);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sandbox {SandboxId}: the guest clock was {OffsetMs} ms off after settling (a slow round trip); the clock plugin sets it")]
    private partial void LogSettleOff(string sandboxId, double offsetMs);
}
