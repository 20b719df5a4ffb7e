using System.Diagnostics;
using System.Net.Sockets;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Vmm;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Wrenn.Abstractions.Testing;

/// <summary>
/// Checks an <see cref="IVmm"/> against what the silo relies on, with real VMs: boot; pause and resume;
/// pause to a snapshot and restore it into a new VM (the silo's pause and resume paths, in their
/// order); a VMM started again (a restarted silo) discovers and adopts what runs; stop ends the VM and
/// may be repeated; a failed boot leaves no process. The VMs use the storage, network and memory
/// plugins you give, boot the guest image you give, and count as up when the guest answers TCP on
/// <see cref="GuestPort"/> at the slot's host address. One VM serves the whole class; facts run in the
/// order above (<see cref="VmmFactOrderer"/>). Failures quote the guest console.
/// </summary>
[TestCaseOrderer("Wrenn.Abstractions.Testing.VmmFactOrderer", "Wrenn.Abstractions.Testing")]
public abstract class VmmConformance : IClassFixture<VmmConformance.SharedVm>
{
    private readonly SharedVm _shared;

    protected VmmConformance(SharedVm shared) => _shared = shared;

    protected abstract IVmm CreateVmm(PluginHost host);

    protected abstract IStorage CreateStorage(PluginHost host);

    protected abstract INetwork CreateNetwork(PluginHost host);

    /// <summary>Where guest RAM lives; null for the VMM's anonymous memory (then snapshots need none).</summary>
    protected virtual IMemoryBackend? CreateMemory(PluginHost host) => null;

    /// <summary>The guest kernel and initramfs.</summary>
    protected abstract KernelImage Kernel { get; }

    /// <summary>The guest's root filesystem, a base image for the storage plugin.</summary>
    protected abstract BaseImage RootImage { get; }

    /// <summary>A TCP port the guest listens on once it is up (Wrenn's guest agent: 49999).</summary>
    protected virtual int GuestPort => 49999;

    /// <summary>How long a guest may take to answer (emulated VMs take seconds).</summary>
    protected virtual TimeSpan GuestReadyTimeout => TimeSpan.FromSeconds(90);

    /// <summary>Kernel arguments for a guest in <paramref name="slot"/>.</summary>
    protected virtual IReadOnlyList<string> KernelArgs(NetworkSlot slot) => GuestKernelArgs.ForNetwork(slot, "wrenn");

    protected virtual string NewOwnerPrefix() => KitHost.RandomOwnerPrefix();

    protected virtual void RetireOwnerPrefix(string ownerPrefix)
    {
    }

    /// <summary>Lets a VM boot wait its turn on a shared machine; the default waits for nothing.</summary>
    protected virtual Task<IDisposable> EnterHostGateAsync() => Task.FromResult<IDisposable>(new NoGate());

    private SharedVm.Plugins P => _shared.PluginsFor(this);

    [ConformanceFact]
    public async Task A_booted_VM_runs_its_guest_and_is_discovered()
    {
        var vm = await RunningAsync();

        var found = Assert.Single(await P.Vmm.DiscoverAsync(P.Kit.Host.OwnerPrefix, CancellationToken.None), d => d.SandboxId == vm.SandboxId);
        Assert.Equal(vm.Handle.Pid, found.Pid);
        Assert.NotNull(await P.Vmm.AdoptAsync(vm.Handle, CancellationToken.None));
        Assert.True(File.Exists(vm.Handle.ConsoleLogPath), $"the console log {vm.Handle.ConsoleLogPath} is missing");
    }

    [ConformanceFact]
    public async Task Pause_stops_the_guest_and_resume_lets_it_run_on()
    {
        var vm = await RunningAsync();

        await P.Vmm.PauseAsync(vm.Handle, CancellationToken.None);
        var answeredPaused = await AnswersAsync(vm.Slot, TimeSpan.FromSeconds(3));
        await P.Vmm.ResumeAsync(vm.Handle, CancellationToken.None);

        Assert.False(answeredPaused, "a paused guest answered");
        await GuestAnswersAsync(vm);
    }

    [ConformanceFact]
    public async Task A_snapshot_of_a_paused_VM_restores_into_a_new_VM_whose_guest_answers()
    {
        Assert.True(P.Vmm.Capabilities.Snapshots, $"{P.Vmm.Name} has no snapshots: skip this class's snapshot fact by name");
        var vm = await RunningAsync();
        var snapshotDir = Directory.CreateDirectory(Path.Combine(P.Kit.Host.DataDir, "snapshots", vm.SandboxId)).FullName;

        // The silo's pause: pause, snapshot, complete the memory, stop, detach, release the slot.
        await P.Vmm.PauseAsync(vm.Handle, CancellationToken.None);
        var snapshot = await P.Vmm.SnapshotAsync(vm.Handle, new SnapshotRequest(snapshotDir, SnapshotKind.Full), CancellationToken.None);
        if (vm.Memory is { } ram && P.Memory is { } memory)
            snapshot = await memory.CompleteSnapshotAsync(ram, snapshot, CancellationToken.None);
        await P.Vmm.StopAsync(vm.Handle, CancellationToken.None);
        await P.Storage.DetachAsync(vm.Disk, CancellationToken.None);
        await P.Network.ReleaseAsync(vm.Slot, CancellationToken.None);
        Directory.Delete(vm.WorkDir, recursive: true);
        _shared.Running = null;
        Assert.True(File.Exists(snapshot.StateFile), $"the snapshot's state file {snapshot.StateFile} is missing");

        // The silo's resume: a new slot, the disk attached again, memory from the snapshot, restore.
        var slot = await P.Network.AllocateAsync(vm.SandboxId, CancellationToken.None);
        var disk = await P.Storage.AttachAsync(vm.Disk with { Attached = false }, CancellationToken.None);
        var workDir = Directory.CreateDirectory(vm.WorkDir).FullName;
        var backing = P.Memory is null ? null : await P.Memory.PrepareRestoreAsync(vm.SandboxId, snapshot, workDir, CancellationToken.None);
        var spec = new VmSpec(vm.SandboxId, snapshot.Vcpus, snapshot.MemoryMib, Kernel, disk, slot, backing, KernelArgs(slot), workDir);
        VmHandle handle;
        using (await EnterHostGateAsync())
            handle = await P.Vmm.RestoreAsync(spec, snapshot, CancellationToken.None);
        var restored = new KitVm(vm.SandboxId, handle, disk, slot, backing, workDir);
        _shared.Running = restored;

        await GuestAnswersAsync(restored);
    }

    [ConformanceFact]
    public async Task A_VMM_started_again_discovers_and_adopts_the_running_VM()
    {
        var vm = await RunningAsync();

        var again = CreateVmm(P.Kit.Host); // what a restarted silo has: a new plugin instance, nothing in memory
        var found = Assert.Single(await again.DiscoverAsync(P.Kit.Host.OwnerPrefix, CancellationToken.None), d => d.SandboxId == vm.SandboxId);
        var adopted = await again.AdoptAsync(vm.Handle, CancellationToken.None);

        Assert.Equal(vm.Handle.Pid, found.Pid);
        Assert.NotNull(adopted);
        Assert.Equal(vm.Handle.Pid, adopted.Pid);
    }

    [ConformanceFact]
    public async Task Stop_ends_the_VM_and_may_be_repeated()
    {
        var vm = await RunningAsync();

        await P.Vmm.StopAsync(vm.Handle, CancellationToken.None);
        await P.Vmm.StopAsync(vm.Handle, CancellationToken.None);
        _shared.Running = null;
        await _shared.ReleaseAsync(vm);

        Assert.False(Directory.Exists($"/proc/{vm.Handle.Pid}") && File.ReadAllText($"/proc/{vm.Handle.Pid}/cmdline").Contains(vm.SandboxId, StringComparison.Ordinal), "the VMM process still runs");
        Assert.Null(await P.Vmm.AdoptAsync(vm.Handle, CancellationToken.None));
        Assert.DoesNotContain(await P.Vmm.DiscoverAsync(P.Kit.Host.OwnerPrefix, CancellationToken.None), d => d.SandboxId == vm.SandboxId);
    }

    [ConformanceFact]
    public async Task A_boot_that_fails_names_the_problem_and_leaves_no_process()
    {
        var sandboxId = KitHost.NewSandboxId();
        var slot = await P.Network.AllocateAsync(sandboxId, CancellationToken.None);
        var disk = await P.Storage.PrepareAsync(sandboxId, RootImage, CancellationToken.None);
        var workDir = Directory.CreateDirectory(Path.Combine(P.Kit.Host.RuntimeDir, "vms", sandboxId)).FullName;
        var missing = Path.Combine(P.Kit.Scratch, "no-such-kernel");
        try
        {
            var spec = new VmSpec(sandboxId, 1, 256, Kernel with { KernelPath = missing, UncompressedKernelPath = missing }, disk, slot, null, KernelArgs(slot), workDir);
            var error = await Assert.ThrowsAsync<VmmException>(() => P.Vmm.BootAsync(spec, CancellationToken.None));
            Assert.Contains(missing, error.Message);
            Assert.DoesNotContain(await P.Vmm.DiscoverAsync(P.Kit.Host.OwnerPrefix, CancellationToken.None), d => d.SandboxId == sandboxId);
        }
        finally
        {
            await _shared.ReleaseAsync(new KitVm(sandboxId, null!, disk, slot, null, workDir));
        }
    }

    /// <summary>The class's VM, booted the silo's way (disk, slot, folder, memory, boot) if none runs.</summary>
    private async Task<KitVm> RunningAsync()
    {
        if (_shared.Running is { } running)
            return running;
        var sandboxId = KitHost.NewSandboxId();
        var disk = await P.Storage.PrepareAsync(sandboxId, RootImage, CancellationToken.None);
        var slot = await P.Network.AllocateAsync(sandboxId, CancellationToken.None);
        var workDir = Directory.CreateDirectory(Path.Combine(P.Kit.Host.RuntimeDir, "vms", sandboxId)).FullName;
        var ram = P.Memory is null ? null : await P.Memory.PrepareBootAsync(sandboxId, 256, workDir, CancellationToken.None);
        var partial = new KitVm(sandboxId, null!, disk, slot, ram, workDir);
        try
        {
            var spec = new VmSpec(sandboxId, 1, 256, Kernel, disk, slot, ram, KernelArgs(slot), workDir);
            using (await EnterHostGateAsync())
            {
                var vm = partial with { Handle = await P.Vmm.BootAsync(spec, CancellationToken.None) };
                _shared.Running = vm;
                await GuestAnswersAsync(vm);
                return vm;
            }
        }
        catch when (_shared.Running is null)
        {
            await _shared.ReleaseAsync(partial);
            throw;
        }
    }

    private async Task GuestAnswersAsync(KitVm vm)
    {
        var waited = Stopwatch.StartNew();
        while (!await AnswersAsync(vm.Slot, TimeSpan.FromSeconds(2)))
        {
            if (await P.Vmm.AdoptAsync(vm.Handle, CancellationToken.None) is null)
                throw new XunitException($"The VM of {vm.SandboxId} exited before its guest answered.\n--- guest console ---\n{VmmException.TailOf(vm.Handle.ConsoleLogPath, 60)}");
            if (waited.Elapsed > GuestReadyTimeout)
                throw new XunitException($"The guest of {vm.SandboxId} did not answer on {vm.Slot.HostAddress}:{GuestPort} within {GuestReadyTimeout.TotalSeconds:0} s.\n--- guest console ---\n{VmmException.TailOf(vm.Handle.ConsoleLogPath, 60)}");
            await Task.Delay(250);
        }
    }

    private async Task<bool> AnswersAsync(NetworkSlot slot, TimeSpan within)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(within);
        try
        {
            await client.ConnectAsync(slot.HostAddress, GuestPort, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>A VM the kit booted, with what it holds.</summary>
    public sealed record KitVm(string SandboxId, VmHandle Handle, PreparedDisk Disk, NetworkSlot Slot, MemoryBacking? Memory, string WorkDir);

    /// <summary>The VM and plugins shared by one test class; disposing stops the VM and releases everything it held.</summary>
    public sealed class SharedVm : IAsyncLifetime
    {
        private Plugins? _plugins;
        private Action<string>? _retire;

        public sealed record Plugins(KitHost Kit, IVmm Vmm, IStorage Storage, INetwork Network, IMemoryBackend? Memory);

        internal KitVm? Running { get; set; }

        internal Plugins PluginsFor(VmmConformance tests)
        {
            if (_plugins is null)
            {
                var kit = KitHost.Create(tests.NewOwnerPrefix());
                _plugins = new Plugins(kit, tests.CreateVmm(kit.Host), tests.CreateStorage(kit.Host), tests.CreateNetwork(kit.Host), tests.CreateMemory(kit.Host));
                _retire = tests.RetireOwnerPrefix;
            }
            return _plugins;
        }

        internal async Task ReleaseAsync(KitVm vm)
        {
            var p = _plugins!;
            if (vm.Handle is not null)
                await p.Vmm.StopAsync(vm.Handle, CancellationToken.None);
            await p.Storage.ReleaseAsync(vm.Disk, CancellationToken.None);
            await p.Network.ReleaseAsync(vm.Slot, CancellationToken.None);
            if (vm.Memory is { } ram && p.Memory is { } memory)
                await memory.ReleaseAsync(ram, CancellationToken.None);
            if (Directory.Exists(vm.WorkDir))
                Directory.Delete(vm.WorkDir, recursive: true);
        }

        public Task InitializeAsync() => Task.CompletedTask;

        public async Task DisposeAsync()
        {
            if (_plugins is not { } p)
                return;
            try
            {
                if (Running is { } vm)
                    await ReleaseAsync(vm);
                foreach (var left in await p.Vmm.DiscoverAsync(p.Kit.Host.OwnerPrefix, CancellationToken.None))
                {
                    try
                    {
                        using var process = Process.GetProcessById(left.Pid);
                        process.Kill(entireProcessTree: true);
                    }
                    catch (ArgumentException)
                    {
                        // Gone already.
                    }
                }
                foreach (var slot in await p.Network.DiscoverAsync(p.Kit.Host.OwnerPrefix, CancellationToken.None))
                    await p.Network.ReleaseAsync(slot, CancellationToken.None);
                foreach (var disk in await p.Storage.DiscoverAsync(p.Kit.Host.OwnerPrefix, CancellationToken.None))
                    await p.Storage.ReleaseAsync(disk, CancellationToken.None);
            }
            finally
            {
                p.Kit.Dispose();
                _retire?.Invoke(p.Kit.Host.OwnerPrefix);
            }
        }
    }

    private sealed class NoGate : IDisposable
    {
        public void Dispose()
        {
        }
    }
}

/// <summary>Runs <see cref="VmmConformance"/>'s facts in the order one shared VM can serve them (the stop last).</summary>
public sealed class VmmFactOrderer : ITestCaseOrderer
{
    private static readonly string[] Order =
    [
        nameof(VmmConformance.A_boot_that_fails_names_the_problem_and_leaves_no_process),
        nameof(VmmConformance.A_booted_VM_runs_its_guest_and_is_discovered),
        nameof(VmmConformance.Pause_stops_the_guest_and_resume_lets_it_run_on),
        nameof(VmmConformance.A_snapshot_of_a_paused_VM_restores_into_a_new_VM_whose_guest_answers),
        nameof(VmmConformance.A_VMM_started_again_discovers_and_adopts_the_running_VM),
        nameof(VmmConformance.Stop_ends_the_VM_and_may_be_repeated),
    ];

    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases) where TTestCase : ITestCase =>
        testCases.OrderBy(t => Array.IndexOf(Order, t.TestMethod.Method.Name) is var i && i < 0 ? int.MaxValue : i).ThenBy(t => t.TestMethod.Method.Name, StringComparer.Ordinal);
}
