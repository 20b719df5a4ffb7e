using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Vmm;
using Wrenn.Plugins.Jail;
using Wrenn.Plugins.Jail.Roots;

namespace Wrenn.Plugins.Vmm.Firecracker;

/// <summary>
/// Firecracker as Wrenn's VMM: one process per VM, in its sandbox's jail (Wrenn.Plugins.Jail, the
/// same jail QEMU and the page server run in) inside the sandbox's network namespace, detached from
/// the silo (VMs outlive it), driven through its API socket in the VM's work folder. Firecracker
/// installs its own seccomp filters as it starts its threads (they are built into the binary;
/// nothing here turns them off).
/// </summary>
public sealed partial class FirecrackerVmm : IVmm
{
    private const long MiB = 1024 * 1024;
    private readonly FirecrackerOptions _options;
    private readonly PluginHost _host;
    private readonly ILogger<FirecrackerVmm> _logger;

    public FirecrackerVmm(IOptions<FirecrackerOptions> options, PluginHost host, ILogger<FirecrackerVmm> logger)
    {
        _options = options.Value;
        _host = host;
        _logger = logger;
        Jails = new Jails(_options.Jail, host, logger, $"{FirecrackerOptions.Section}:Jail");
    }

    public string Name => "firecracker";

    /// <summary>What the silo reserves per VM beyond guest RAM (<see cref="FirecrackerOptions.ReservedOverheadMib"/>).</summary>
    public int HostOverheadMib => _options.ReservedOverheadMib;

    /// <summary>The jails the VMs run in.</summary>
    public Jails Jails { get; }

    public VmmCapabilities Capabilities { get; } = new(Snapshots: true, DiffSnapshots: true,
        [MemoryBackingKind.Anonymous, MemoryBackingKind.File, MemoryBackingKind.Uffd], ["raw"]);

    public SandboxJail JailOf(VmHandle vm) => SandboxJail.FromProperties(_host.OwnerPrefix, vm.SandboxId, vm.Properties);

    private static string SocketOf(string workDir) => Path.Combine(workDir, "fc.sock");

    private string IdOf(string sandboxId) => $"wrenn-{_host.OwnerPrefix}-{sandboxId}";

    /// <summary>
    /// Where Firecracker writes a snapshot: a folder in its jail, on the data disk (like the silo's
    /// snapshot folders, so that moving the files out is a rename). The folder a snapshot is asked
    /// for is not known when the jail's root is made.
    /// </summary>
    private string StagingOf(string sandboxId) => Path.Combine(_host.DataDir, "firecracker", $"{_host.OwnerPrefix}-{sandboxId}");

    public async Task<VmHandle> BootAsync(VmSpec spec, CancellationToken cancellationToken)
    {
        var vm = await LaunchAsync(spec, null, cancellationToken);
        try
        {
            using var api = new FirecrackerApiClient(SocketOf(spec.WorkDir));
            await new FirecrackerMachine(api).BootAsync(spec, cancellationToken);
            return vm;
        }
        catch (VmmException e)
        {
            await StopAsync(vm, CancellationToken.None);
            throw new VmmException(e.Message) { ConsoleTail = VmmException.TailOf(vm.ConsoleLogPath) };
        }
    }

    public async Task PauseAsync(VmHandle vm, CancellationToken cancellationToken)
    {
        using var api = new FirecrackerApiClient(SocketOf(vm.WorkDir));
        await new FirecrackerMachine(api).PauseAsync(cancellationToken);
    }

    public async Task ResumeAsync(VmHandle vm, CancellationToken cancellationToken)
    {
        using var api = new FirecrackerApiClient(SocketOf(vm.WorkDir));
        await new FirecrackerMachine(api).ResumeAsync(cancellationToken);
    }

    /// <summary>Snapshots into the jail's staging folder, then moves the files where they were asked for.</summary>
    public async Task<SnapshotFiles> SnapshotAsync(VmHandle vm, SnapshotRequest request, CancellationToken cancellationToken)
    {
        var memoryName = request.Kind == SnapshotKind.Diff ? $"memory-diff-{DateTime.UtcNow:yyyyMMddHHmmssfff}" : "memory";
        var staging = vm.Properties.GetValueOrDefault("staging") ?? request.Directory;
        var (stagedState, stagedMemory) = (Path.Combine(staging, "vmstate"), Path.Combine(staging, memoryName));
        var (state, memory) = (Path.Combine(request.Directory, "vmstate"), Path.Combine(request.Directory, memoryName));
        using var api = new FirecrackerApiClient(SocketOf(vm.WorkDir));
        try
        {
            await new FirecrackerMachine(api).SnapshotAsync(stagedState, stagedMemory, request.Kind, cancellationToken);
            if (stagedState != state)
            {
                File.Move(stagedState, state, overwrite: true);
                File.Move(stagedMemory, memory, overwrite: true);
            }
            Jails.TakeBack(state);
            Jails.TakeBack(memory);
        }
        finally
        {
            File.Delete(stagedState);
            File.Delete(stagedMemory);
        }
        return new SnapshotFiles(request.Directory, state, [memory], request.Kind,
            int.Parse(vm.Properties["memoryMib"], CultureInfo.InvariantCulture), int.Parse(vm.Properties["vcpus"], CultureInfo.InvariantCulture), new Dictionary<string, string>());
    }

    public async Task<VmHandle> RestoreAsync(VmSpec spec, SnapshotFiles snapshot, CancellationToken cancellationToken)
    {
        var vm = await LaunchAsync(spec, snapshot, cancellationToken);
        try
        {
            var memory = spec.Memory ?? new MemoryBacking(MemoryBackingKind.File, snapshot.MemoryFiles[0], false, new Dictionary<string, string>());
            using var api = new FirecrackerApiClient(SocketOf(spec.WorkDir));
            await new FirecrackerMachine(api).LoadAsync(snapshot.StateFile, memory, cancellationToken);
            return vm;
        }
        catch (VmmException e)
        {
            await StopAsync(vm, CancellationToken.None);
            throw new VmmException(e.Message) { ConsoleTail = VmmException.TailOf(vm.ConsoleLogPath) };
        }
    }

    /// <summary>
    /// Starts firecracker in the sandbox's jail, in its netns (the jail's uid is made the TAP's owner,
    /// so that Firecracker attaches it itself), and waits for its API socket.
    /// </summary>
    private async Task<VmHandle> LaunchAsync(VmSpec spec, SnapshotFiles? restoring, CancellationToken cancellationToken)
    {
        var binary = _options.ResolveBinary()
            ?? throw new VmmException($"The firecracker binary '{_options.Binary}' was not found; install it or set Wrenn:Plugins:firecracker:Binary (or WRENN_FIRECRACKER_BIN).");
        Directory.CreateDirectory(spec.WorkDir);
        var socket = SocketOf(spec.WorkDir);
        File.Delete(socket);
        var console = Path.Combine(spec.WorkDir, "console.log");
        var staging = StagingOf(spec.SandboxId);
        if (Directory.Exists(staging))
            Directory.Delete(staging, recursive: true);
        Directory.CreateDirectory(staging);

        var jail = Jails.Acquire(spec.SandboxId);
        JailedProcess? started = null;
        try
        {
            Jails.Limit(jail, Jails.LimitsFor(spec.Vcpus, (spec.MemoryMib + _options.MemoryOverheadMib) * MiB));
            var program = new JailedProgram(binary, ["--api-sock", socket, "--id", IdOf(spec.SandboxId)], RootFor(spec, restoring, staging), console,
                spec.Network.Namespace, TapOwners: [spec.Network.TapDevice],
                // Its disk and a full snapshot's memory file are its largest writes; its serial console is bounded by the same.
                FileSizeLimit: Math.Max(File.Exists(spec.RootDisk.Path) ? new FileInfo(spec.RootDisk.Path).Length : 0, spec.MemoryMib * MiB) + 1024 * MiB);
            try
            {
                started = await Jails.StartAsync(jail, program, cancellationToken);
            }
            catch (JailException e)
            {
                throw new VmmException(e.Message, e) { ConsoleTail = VmmException.TailOf(console) };
            }
            var deadline = Stopwatch.StartNew();
            while (!File.Exists(socket))
            {
                if (!Directory.Exists($"/proc/{started.Pid}"))
                    throw new VmmException($"firecracker for {spec.SandboxId} exited at start.") { ConsoleTail = VmmException.TailOf(console) };
                if (deadline.Elapsed > _options.StartTimeout)
                    throw new VmmException($"firecracker for {spec.SandboxId} did not open its API socket within {_options.StartTimeout.TotalSeconds:0} s.") { ConsoleTail = VmmException.TailOf(console) };
                await Task.Delay(50, cancellationToken);
            }
            LogStarted(spec.SandboxId, started.Pid, jail.Uid);
            return new VmHandle(spec.SandboxId, Name, started.Pid, spec.WorkDir, console, new Dictionary<string, string>(jail.ToProperties())
            {
                ["apiSocket"] = socket,
                ["staging"] = staging,
                ["vcpus"] = spec.Vcpus.ToString(CultureInfo.InvariantCulture),
                ["memoryMib"] = spec.MemoryMib.ToString(CultureInfo.InvariantCulture),
            });
        }
        catch
        {
            if (started is not null)
                KillQuietly(started.InitPid); // PID 1 of its namespace: firecracker goes with it
            await Jails.ReleaseAsync(jail, CancellationToken.None);
            Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// What Firecracker sees: its work folder (API socket, the page server's socket), its staging
    /// folder, the guest kernel and initramfs, its disk, a restore's state and memory files, and the
    /// device nodes it opens itself: /dev/kvm, /dev/net/tun and (for uffd restores) /dev/userfaultfd.
    /// </summary>
    private static JailRoot RootFor(VmSpec spec, SnapshotFiles? restoring, string staging)
    {
        var root = new JailRoot()
            .Writable(spec.WorkDir)
            .Writable(staging)
            .Writable(spec.RootDisk.Path)
            .Device("/dev/kvm")
            .Device("/dev/net/tun")
            .Device("/dev/null")
            .Device("/dev/urandom");
        if (spec.Kernel.UncompressedKernelPath is { } vmlinux)
            root.ReadOnly(vmlinux);
        if (spec.Kernel.InitrdPath is { } initrd)
            root.ReadOnly(initrd);
        if (restoring is not null)
        {
            root.ReadOnly(restoring.StateFile);
            if (spec.Memory is not { Kind: MemoryBackingKind.Uffd })
                root.ReadOnly(restoring.MemoryFiles[0]);
            else if (File.Exists("/dev/userfaultfd"))
                root.Device("/dev/userfaultfd");
        }
        return root;
    }

    private int? FindPid(string sandboxId) => Processes().FirstOrDefault(p => p.Id == IdOf(sandboxId)).Pid is var pid and > 0 ? pid : null;

    /// <summary>firecracker processes and their --id (the jail's init, whose command line carries firecracker's, is not one).</summary>
    private static IEnumerable<(int Pid, string Id)> Processes()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            string[] args;
            try
            {
                args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
            }
            catch (IOException)
            {
                continue;
            }
            var at = Array.IndexOf(args, "--id");
            if (at > 0 && at + 1 < args.Length && Path.GetFileName(args[0]).Contains("firecracker", StringComparison.Ordinal))
                yield return (pid, args[at + 1]);
        }
    }

    public async Task StopAsync(VmHandle vm, CancellationToken cancellationToken)
    {
        if (FindPid(vm.SandboxId) is { } pid)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
                await process.WaitForExitAsync(cancellationToken);
            }
            catch (ArgumentException)
            {
            }
        }
        await Jails.ReleaseAsync(JailOf(vm), cancellationToken);
        if (vm.Properties.GetValueOrDefault("staging") is { } staging && Directory.Exists(staging))
            Directory.Delete(staging, recursive: true);
        File.Delete(SocketOf(vm.WorkDir));
    }

    public async Task<VmHandle?> AdoptAsync(VmHandle vm, CancellationToken cancellationToken)
    {
        if (FindPid(vm.SandboxId) is null)
            return null;
        try
        {
            using var api = new FirecrackerApiClient(SocketOf(vm.WorkDir));
            await api.GetAsync("/", cancellationToken);
            return vm;
        }
        catch (Exception e) when (e is VmmException or HttpRequestException or IOException)
        {
            return null;
        }
    }

    public Task<IReadOnlyList<DiscoveredVm>> DiscoverAsync(string ownerPrefix, CancellationToken cancellationToken)
    {
        var prefix = $"wrenn-{ownerPrefix}-";
        IReadOnlyList<DiscoveredVm> found = Processes().Where(p => p.Id.StartsWith(prefix, StringComparison.Ordinal))
            .Select(p => new DiscoveredVm(p.Id[prefix.Length..], p.Pid, "")).ToList();
        return Task.FromResult(found);
    }

    private static void KillQuietly(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // Gone already.
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Started firecracker for {SandboxId} (pid {Pid}, uid {Uid})")]
    private partial void LogStarted(string sandboxId, int pid, int uid);
}
