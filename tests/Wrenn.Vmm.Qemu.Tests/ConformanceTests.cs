using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Clock;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Testing;
using Wrenn.Abstractions.Vmm;
using Wrenn.Plugins.Clock.Chrony;
using Wrenn.Plugins.Memory.File;
using Wrenn.Plugins.Network.Netns;
using Wrenn.Plugins.Storage.Qcow2;
using Wrenn.Plugins.Vmm.Qemu;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

namespace Wrenn.Vmm.Qemu.Tests;

/// <summary>
/// The QEMU plugin against the conformance kit: one real VM (TCG here) for the class, booting our
/// guest image on a qcow2 disk, in a netns slot, with its RAM in a file (memory-file).
/// </summary>
public sealed class QemuConformanceTests(VmmConformance.SharedVm shared) : VmmConformance(shared)
{
    private static readonly GuestImage Image = GuestImage.FromDirectory(RepoPaths.ImageDir);

    protected override IVmm CreateVmm(PluginHost host) => new QemuVmm(Options.Create(new QemuOptions()), host, NullLogger<QemuVmm>.Instance);

    protected override IStorage CreateStorage(PluginHost host) => new Qcow2Storage(Options.Create(new Qcow2Options()), host, NullLogger<Qcow2Storage>.Instance);

    protected override INetwork CreateNetwork(PluginHost host) => new NetnsNetwork(Options.Create(new NetnsOptions()), host, NullLogger<NetnsNetwork>.Instance);

    protected override IMemoryBackend? CreateMemory(PluginHost host) => new FileMemoryBackend(host, NullLogger<FileMemoryBackend>.Instance);

    protected override KernelImage Kernel => Image.Kernel;

    protected override BaseImage RootImage => Image.RootFilesystem;

    protected override int GuestPort => Wrenn.Guest.Protocol.AgentEndpoint.DefaultPort;

    protected override async Task<IDisposable> EnterHostGateAsync() => await MachineGate.EnterAsync();

    protected override string NewOwnerPrefix() => TestPrefix.NewOwner();

    protected override void RetireOwnerPrefix(string ownerPrefix) => TestPrefix.Retire(ownerPrefix);
}

/// <summary>The memory-file plugin against the conformance kit (guest RAM written by a stand-in VMM; QemuConformanceTests drives it with QEMU).</summary>
public sealed class FileMemoryConformanceTests : MemoryConformance
{
    protected override IMemoryBackend CreateMemory(PluginHost host) => new FileMemoryBackend(host, NullLogger<FileMemoryBackend>.Instance);

    protected override string NewOwnerPrefix() => TestPrefix.NewOwner();

    protected override void RetireOwnerPrefix(string ownerPrefix) => TestPrefix.Retire(ownerPrefix);
}

/// <summary>The clock-chrony plugin against the conformance kit, pushing the time from the host (guests without a PTP clock, as under TCG).</summary>
public sealed class ChronyClockConformanceTests : GuestClockConformance
{
    protected override IGuestClock CreateClock() => new ChronyGuestClock(Options.Create(new ChronyOptions { PushInterval = TimeSpan.FromMilliseconds(50) }), NullLogger<ChronyGuestClock>.Instance);
}
