using Wrenn.Abstractions.Vmm;

namespace Wrenn.Silo.Plugins.Calls;

/// <summary>Times and logs every call into a VMM plugin (see <see cref="PluginCallLog"/>).</summary>
internal class TimedVmm(IVmm inner, PluginCallLog log) : IVmm
{
    /// <summary>The decorator for <paramref name="inner"/>: one that also passes live snapshots through when the VMM has them (<see cref="ILiveSnapshot"/>), which the silo asks for by type.</summary>
    public static IVmm For(IVmm inner, PluginCallLog log) =>
        inner is ILiveSnapshot live ? new TimedLiveVmm(inner, live, log) : new TimedVmm(inner, log);

    protected PluginCallLog Log => log;

    public string Name => inner.Name;

    public VmmCapabilities Capabilities => inner.Capabilities;

    public int HostOverheadMib => inner.HostOverheadMib;

    public Task<VmHandle> BootAsync(VmSpec spec, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(BootAsync), spec.SandboxId, () => inner.BootAsync(spec, cancellationToken), cancellationToken);

    public Task PauseAsync(VmHandle vm, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(PauseAsync), vm.SandboxId, () => inner.PauseAsync(vm, cancellationToken), cancellationToken);

    public Task ResumeAsync(VmHandle vm, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(ResumeAsync), vm.SandboxId, () => inner.ResumeAsync(vm, cancellationToken), cancellationToken);

    public Task<SnapshotFiles> SnapshotAsync(VmHandle vm, SnapshotRequest request, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(SnapshotAsync), vm.SandboxId, () => inner.SnapshotAsync(vm, request, cancellationToken), cancellationToken);

    public Task<VmHandle> RestoreAsync(VmSpec spec, SnapshotFiles snapshot, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(RestoreAsync), spec.SandboxId, () => inner.RestoreAsync(spec, snapshot, cancellationToken), cancellationToken);

    public Task StopAsync(VmHandle vm, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(StopAsync), vm.SandboxId, () => inner.StopAsync(vm, cancellationToken), cancellationToken);

    public Task<VmHandle?> AdoptAsync(VmHandle vm, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(AdoptAsync), vm.SandboxId, () => inner.AdoptAsync(vm, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<DiscoveredVm>> DiscoverAsync(string ownerPrefix, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(DiscoverAsync), ownerPrefix, () => inner.DiscoverAsync(ownerPrefix, cancellationToken), cancellationToken);
}

/// <summary>A VMM that forks running VMs: its disk switch is timed too.</summary>
internal sealed class TimedLiveVmm(IVmm inner, ILiveSnapshot live, PluginCallLog log) : TimedVmm(inner, log), ILiveSnapshot
{
    public Task<LiveSnapshot> SnapshotRunningAsync(VmHandle vm, SnapshotRequest request, CancellationToken cancellationToken) =>
        Log.TimeAsync(nameof(SnapshotRunningAsync), vm.SandboxId, () => live.SnapshotRunningAsync(vm, request, cancellationToken), cancellationToken);

    public Task SwitchDiskAsync(VmHandle vm, Wrenn.Abstractions.Storage.PreparedDisk overlay, CancellationToken cancellationToken) =>
        Log.TimeAsync(nameof(SwitchDiskAsync), vm.SandboxId, () => live.SwitchDiskAsync(vm, overlay, cancellationToken), cancellationToken);
}
