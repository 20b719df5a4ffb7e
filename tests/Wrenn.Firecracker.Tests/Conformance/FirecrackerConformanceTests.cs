using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Testing;
using Wrenn.Abstractions.Vmm;
using Wrenn.Plugins.Memory.Uffd;
using Wrenn.Plugins.Network.Netns;
using Wrenn.Plugins.Storage.Devicemapper;
using Wrenn.Plugins.Vmm.Firecracker;
using Wrenn.Testing;

namespace Wrenn.Firecracker.Tests.Conformance;

/// <summary>
/// The Firecracker plugin against the conformance kit: real VMs on devicemapper disks (Firecracker
/// attaches raw disks only), in netns slots, restored through the userfaultfd page server. Skipped,
/// naming what is missing, without a firecracker binary, KVM and device-mapper.
/// </summary>
[RequiresFirecrackerHost]
public sealed class FirecrackerConformanceTests(VmmConformance.SharedVm shared) : VmmConformance(shared)
{
    private static JsonElement Manifest => JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.ImageDir, "manifest.json"))).RootElement;

    protected override IVmm CreateVmm(PluginHost host) => new FirecrackerVmm(Options.Create(new FirecrackerOptions()), host, NullLogger<FirecrackerVmm>.Instance);

    protected override IStorage CreateStorage(PluginHost host) =>
        new DevicemapperStorage(Options.Create(new DevicemapperOptions()), host, new LoopDeviceRegistry(), NullLogger<DevicemapperStorage>.Instance);

    protected override INetwork CreateNetwork(PluginHost host) => new NetnsNetwork(Options.Create(new NetnsOptions()), host, NullLogger<NetnsNetwork>.Instance);

    protected override IMemoryBackend? CreateMemory(PluginHost host) => new UffdMemoryBackend(Options.Create(new UffdOptions()), host, NullLogger<UffdMemoryBackend>.Instance);

    protected override KernelImage Kernel => new(Manifest.GetProperty("kernel").GetString()!, Manifest.GetProperty("initrd").GetString(), Manifest.GetProperty("vmlinux").GetString());

    protected override BaseImage RootImage
    {
        get
        {
            var rootfs = Manifest.GetProperty("rootfs").GetString()!;
            return new BaseImage($"base-{Manifest.GetProperty("rootfsKey").GetString()}", rootfs, "raw", new FileInfo(rootfs).Length);
        }
    }

    protected override async Task<IDisposable> EnterHostGateAsync() => await MachineGate.EnterAsync();

    protected override string NewOwnerPrefix() => TestPrefix.NewOwner();

    protected override void RetireOwnerPrefix(string ownerPrefix) => TestPrefix.Retire(ownerPrefix);
}

/// <summary>The memory-uffd plugin against the memory kit: its snapshots are Firecracker's diff files, which the Firecracker VMM kit drives.</summary>
[UffdSnapshotsNeedFirecracker]
public sealed class UffdMemoryConformanceTests : MemoryConformance
{
    protected override IMemoryBackend CreateMemory(PluginHost host) => new UffdMemoryBackend(Options.Create(new UffdOptions()), host, NullLogger<UffdMemoryBackend>.Instance);

    protected override string NewOwnerPrefix() => TestPrefix.NewOwner();

    protected override void RetireOwnerPrefix(string ownerPrefix) => TestPrefix.Retire(ownerPrefix);
}

/// <summary>Skips the VMM kit where Firecracker cannot run here: no binary, no KVM, or no device-mapper for its raw disks.</summary>
public sealed class RequiresFirecrackerHostAttribute : ConformanceSkipAttribute
{
    public override string? Reason =>
        new FirecrackerOptions().ResolveBinary() is null ? "No firecracker binary on this machine (none can be installed here; set WRENN_FIRECRACKER_BIN where one exists)."
        : !File.Exists("/dev/kvm") ? "Firecracker needs /dev/kvm, which this machine lacks."
        : !File.ReadAllText("/proc/misc").Contains("device-mapper", StringComparison.Ordinal) ? "Firecracker's disks here come from devicemapper, and this kernel has no device-mapper."
        : null;
}

/// <summary>The memory kit's snapshot fact drives File backings through a stand-in VMM; uffd snapshots are Firecracker's own files.</summary>
public sealed class UffdSnapshotsNeedFirecrackerAttribute : ConformanceSkipAttribute
{
    public override string? Reason => "memory-uffd restores Firecracker's snapshot files through a page server; it is checked with Firecracker in FirecrackerConformanceTests, not with the kit's stand-in VMM.";

    public override IReadOnlyCollection<string>? Facts => [nameof(MemoryConformance.A_snapshots_memory_outlives_the_work_folder_and_a_restore_maps_it_again)];
}
