using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Abstractions.Plugins;
using Wrenn.Plugins.Network.Netns;
using Wrenn.Plugins.Storage.Qcow2;
using Wrenn.Plugins.Vmm.Qemu;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

namespace Wrenn.Vmm.Qemu.Tests;

/// <summary>
/// Real VMs: QEMU microvm (TCG here) booting our guest image, in netns slots, on qcow2 overlays,
/// composed by the silo's <see cref="SandboxVms"/>. Each test boots through <see cref="MachineGate"/>.
/// </summary>
public sealed class VmFixture : IAsyncLifetime
{
    public string Owner { get; private set; } = "";
    public PluginHost Host { get; private set; } = null!;
    public LocalPlugins Plugins { get; private set; } = null!;
    public QemuVmm Vmm => Plugins.Vmm;
    public NetnsNetwork Network => Plugins.Network;
    public Qcow2Storage Storage => Plugins.Storage;
    public SandboxVms Vms { get; private set; } = null!;
    public GuestImage Image { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await HostSweep.RemoveLeftoversAsync();
        Owner = TestPrefix.NewOwner();
        var runtimeDir = Path.Combine("/run/wrenn", Owner);
        Host = new PluginHost(Owner, runtimeDir, runtimeDir, "/run/wrenn", "/var/cache/wrenn");
        Plugins = LocalPlugins.Create(Host, NullLoggerFactory.Instance);
        Vms = Plugins.BootOnly(NullLoggerFactory.Instance);
        Image = GuestImage.FromDirectory(RepoPaths.ImageDir);
    }

    /// <summary>Boots a sandbox VM through the machine gate; boot failures carry the guest console.</summary>
    public async Task<SandboxVm> BootAsync(string? sandboxId = null)
    {
        using var gate = await MachineGate.EnterAsync();
        return await Vms.CreateAsync(sandboxId ?? Grains.Ids.SandboxId.New().ToString(), Image, new VmSize(1, 256), CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        // Whatever a failing test left: VMs, slots, disks of this owner.
        foreach (var vm in await Vmm.DiscoverAsync(Owner, CancellationToken.None))
            await HostCommand.TryRunAsync("kill", ["-9", vm.Pid.ToString()], CancellationToken.None);
        await Wrenn.Plugins.Jail.Jails.ReleaseOrphansAsync(Host.MachineRuntimeDir, Owner, _ => false, NullLogger.Instance, CancellationToken.None);
        foreach (var slot in await Network.DiscoverAsync(Owner, CancellationToken.None))
            await Network.ReleaseAsync(slot, CancellationToken.None);
        if (Directory.Exists(Host.RuntimeDir))
            Directory.Delete(Host.RuntimeDir, recursive: true);
        TestPrefix.Retire(Owner);
    }
}
