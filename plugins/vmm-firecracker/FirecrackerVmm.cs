using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Plugins.Vmm.Firecracker;

/// <summary>
/// Firecracker as Wrenn's VMM: one process per VM, started inside the sandbox's network namespace
/// with a mount namespace of its own, detached from the silo (VMs outlive it), driven through its
/// API socket in the VM's work folder.
/// </summary>
public sealed partial class FirecrackerVmm(IOptions<FirecrackerOptions> options, PluginHost host, ILogger<FirecrackerVmm> logger) : IVmm
{
    public string Name => "firecracker";

    public VmmCapabilities Capabilities { get; } = new(Snapshots: true, DiffSnapshots: true,
        [MemoryBackingKind.Anonymous, MemoryBackingKind.File, MemoryBackingKind.Uffd], ["raw"]);

    private static string SocketOf(string workDir) => Path.Combine(workDir, "fc.sock");

    private string IdOf(string sandboxId) => $"wrenn-{host.OwnerPrefix}-{sandboxId}";

    public async Task<VmHandle> BootAsync(VmSpec spec, CancellationToken cancellationToken)
    {
        var vm = await LaunchAsync(spec, cancellationToken);
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

    public async Task<SnapshotFiles> SnapshotAsync(VmHandle vm, SnapshotRequest request, CancellationToken cancellationToken)
    {
        var state = Path.Combine(request.Directory, "vmstate");
        var memory = Path.Combine(request.Directory, request.Kind == SnapshotKind.Diff ? $"memory-diff-{DateTime.UtcNow:yyyyMMddHHmmssfff}" : "memory");
        using var api = new FirecrackerApiClient(SocketOf(vm.WorkDir));
        await new FirecrackerMachine(api).SnapshotAsync(state, memory, request.Kind, cancellationToken);
        return new SnapshotFiles(request.Directory, state, [memory], request.Kind,
            int.Parse(vm.Properties["memoryMib"]), int.Parse(vm.Properties["vcpus"]), new Dictionary<string, string>());
    }

    public async Task<VmHandle> RestoreAsync(VmSpec spec, SnapshotFiles snapshot, CancellationToken cancellationToken)
    {
        var vm = await LaunchAsync(spec, cancellationToken);
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
    /// Starts firecracker in the sandbox's netns (its TAP lives there) and a fresh mount namespace,
    /// in a session of its own so that it outlives the silo, and waits for its API socket.
    /// </summary>
    private async Task<VmHandle> LaunchAsync(VmSpec spec, CancellationToken cancellationToken)
    {
        var binary = options.Value.ResolveBinary()
            ?? throw new VmmException($"The firecracker binary '{options.Value.Binary}' was not found; install it or set Wrenn:Plugins:firecracker:Binary (or WRENN_FIRECRACKER_BIN).");
        Directory.CreateDirectory(spec.WorkDir);
        var socket = SocketOf(spec.WorkDir);
        File.Delete(socket);
        var console = Path.Combine(spec.WorkDir, "console.log");
        var start = new ProcessStartInfo("setsid", ["--fork", "ip", "netns", "exec", spec.Network.Namespace, "unshare", "--mount", "--propagation", "private",
            "sh", "-c", "exec \"$0\" --api-sock \"$1\" --id \"$2\" >>\"$3\" 2>&1 </dev/null", binary, socket, IdOf(spec.SandboxId), console])
        { UseShellExecute = false };
        using (var launcher = Process.Start(start)!)
            await launcher.WaitForExitAsync(cancellationToken);

        var deadline = Stopwatch.StartNew();
        while (!File.Exists(socket))
        {
            if (deadline.Elapsed > options.Value.StartTimeout)
                throw new VmmException($"firecracker for {spec.SandboxId} did not open its API socket within {options.Value.StartTimeout.TotalSeconds:0} s.") { ConsoleTail = VmmException.TailOf(console) };
            await Task.Delay(50, cancellationToken);
        }
        var pid = FindPid(spec.SandboxId) ?? throw new VmmException($"firecracker for {spec.SandboxId} exited at start.") { ConsoleTail = VmmException.TailOf(console) };
        LogStarted(spec.SandboxId, pid);
        return new VmHandle(spec.SandboxId, Name, pid, spec.WorkDir, console, new Dictionary<string, string>
        {
            ["apiSocket"] = socket,
            ["vcpus"] = spec.Vcpus.ToString(),
            ["memoryMib"] = spec.MemoryMib.ToString(),
        });
    }

    private int? FindPid(string sandboxId) => Processes().FirstOrDefault(p => p.Id == IdOf(sandboxId)).Pid is var pid and > 0 ? pid : null;

    /// <summary>firecracker processes and their --id.</summary>
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
            if (at > 0 && at + 1 < args.Length && args[0].EndsWith("firecracker", StringComparison.Ordinal))
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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Started firecracker for {SandboxId} (pid {Pid})")]
    private partial void LogStarted(string sandboxId, int pid);
}
