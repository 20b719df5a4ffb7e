using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Plugins.Vmm.Qemu;

/// <summary>
/// QEMU <c>microvm</c> with virtio-mmio disk and network, one process per VM, started inside the
/// sandbox's network namespace and daemonized so that it outlives the silo (a restarted silo adopts
/// it again). Controlled over QMP on a socket in the VM's work folder; the guest console goes to a
/// log file there, which errors quote.
/// </summary>
public sealed partial class QemuVmm : IVmm
{
    private const string QmpSocket = "qmp.sock";
    private const string PidFile = "qemu.pid";
    private const string ConsoleLog = "console.log";
    private readonly QemuOptions _options;
    private readonly PluginHost _host;
    private readonly ILogger<QemuVmm> _logger;
    private readonly AcceleratorProbe _probe;

    public QemuVmm(IOptions<QemuOptions> options, PluginHost host, ILogger<QemuVmm> logger)
    {
        _options = options.Value;
        _host = host;
        _logger = logger;
        _probe = new AcceleratorProbe(_options, host, logger);
    }

    public string Name => "qemu";

    public VmmCapabilities Capabilities { get; } = new(
        Snapshots: true,
        DiffSnapshots: false,
        MemoryBackings: [MemoryBackingKind.Anonymous, MemoryBackingKind.File],
        DiskFormats: ["raw", "qcow2"]);

    public Task<VmHandle> BootAsync(VmSpec spec, CancellationToken cancellationToken) =>
        StartAsync(spec, incoming: null, cancellationToken);

    public async Task PauseAsync(VmHandle vm, CancellationToken cancellationToken)
    {
        await using var qmp = await ConnectAsync(vm, cancellationToken);
        await qmp.ExecuteAsync("stop", null, cancellationToken);
    }

    public async Task ResumeAsync(VmHandle vm, CancellationToken cancellationToken)
    {
        await using var qmp = await ConnectAsync(vm, cancellationToken);
        await qmp.ExecuteAsync("cont", null, cancellationToken);
    }

    /// <summary>
    /// Writes the device state with QEMU's migration to a file. RAM in a shared file backing stays
    /// in that file (x-ignore-shared), so the snapshot costs what the devices hold, not the guest's
    /// memory size; with anonymous or private memory, RAM goes into the stream.
    /// </summary>
    public async Task<SnapshotFiles> SnapshotAsync(VmHandle vm, SnapshotRequest request, CancellationToken cancellationToken)
    {
        if (request.Kind != SnapshotKind.Full)
            throw new VmmException("QEMU snapshots are full device-state snapshots; diff snapshots are Firecracker's (use the firecracker VMM).");
        var statePath = Path.Combine(request.Directory, "vmstate");
        var partialPath = statePath + ".partial";
        var sharedMemory = vm.Properties.TryGetValue("memoryShared", out var shared) && shared == "true";
        await using var qmp = await ConnectAsync(vm, cancellationToken);
        await qmp.ExecuteAsync("migrate-set-capabilities", IgnoreShared(sharedMemory), cancellationToken);
        // QEMU reports a migration into a pipe complete once the pipe took the bytes, even if the
        // writer then failed (a full disk). So the writer renames its file only after writing all
        // of it, and only the renamed file counts as a snapshot.
        await qmp.ExecuteAsync("migrate", new JsonObject { ["uri"] = $"exec:cat > '{partialPath}' && mv '{partialPath}' '{statePath}'" }, cancellationToken);
        await WaitForMigrationAsync(qmp, vm, cancellationToken);
        if (!await WaitForFileAsync(statePath, TimeSpan.FromSeconds(30), cancellationToken))
        {
            File.Delete(partialPath);
            throw new VmmException($"The saved state of {vm.SandboxId} could not be written to {request.Directory}: is its disk full?");
        }
        var memoryFiles = vm.Properties.TryGetValue("memoryPath", out var memoryPath) && sharedMemory ? new[] { memoryPath } : [];
        // What wrote the state, so that a restore by another build can tell what it is given.
        var version = (await qmp.ExecuteAsync("query-version", null, cancellationToken))?["qemu"];
        return new SnapshotFiles(request.Directory, statePath, memoryFiles, SnapshotKind.Full,
            int.Parse(vm.Properties["memoryMib"], CultureInfo.InvariantCulture),
            int.Parse(vm.Properties["vcpus"], CultureInfo.InvariantCulture),
            new Dictionary<string, string>
            {
                ["ignoreShared"] = sharedMemory ? "true" : "false",
                ["vmm"] = "qemu",
                ["vmmVersion"] = version is null ? "unknown" : $"{version["major"]}.{version["minor"]}.{version["micro"]}",
                ["stateFormat"] = "qemu-migration-stream",
            });
    }

    /// <summary>Starts QEMU waiting for an incoming migration, feeds it the saved state, and lets the guest run.</summary>
    public async Task<VmHandle> RestoreAsync(VmSpec spec, SnapshotFiles snapshot, CancellationToken cancellationToken)
    {
        if (snapshot.MemoryMib != spec.MemoryMib || snapshot.Vcpus != spec.Vcpus)
            throw new VmmException($"A snapshot of {snapshot.Vcpus} vCPUs and {snapshot.MemoryMib} MiB cannot be restored into {spec.Vcpus} vCPUs and {spec.MemoryMib} MiB.");
        var vm = await StartAsync(spec, incoming: snapshot, cancellationToken);
        try
        {
            await using var qmp = await ConnectAsync(vm, cancellationToken);
            var ignoreShared = snapshot.Properties.TryGetValue("ignoreShared", out var s) && s == "true";
            await qmp.ExecuteAsync("migrate-set-capabilities", IgnoreShared(ignoreShared), cancellationToken);
            await qmp.ExecuteAsync("migrate-incoming", new JsonObject { ["uri"] = $"exec:cat '{snapshot.StateFile}'" }, cancellationToken);
            await WaitForIncomingAsync(qmp, vm, cancellationToken);
            await qmp.ExecuteAsync("cont", null, cancellationToken);
            return vm;
        }
        catch
        {
            await StopAsync(vm, CancellationToken.None);
            throw;
        }
    }

    public async Task StopAsync(VmHandle vm, CancellationToken cancellationToken)
    {
        var startTime = vm.Properties.GetValueOrDefault("startTime");
        if (VmProcess.IsSame(vm.Pid, startTime))
        {
            try
            {
                await using var qmp = await ConnectAsync(vm, cancellationToken);
                await qmp.ExecuteAsync("quit", null, cancellationToken);
            }
            catch (Exception e) when (e is QmpException or IOException or System.Net.Sockets.SocketException or VmmException)
            {
                // Not answering: it is killed below.
            }
            if (!await WaitForExitAsync(vm.Pid, startTime, _options.StopTimeout, cancellationToken))
            {
                Kill(vm.Pid, 15);
                if (!await WaitForExitAsync(vm.Pid, startTime, TimeSpan.FromSeconds(2), cancellationToken))
                {
                    Kill(vm.Pid, 9);
                    await WaitForExitAsync(vm.Pid, startTime, TimeSpan.FromSeconds(5), cancellationToken);
                }
            }
        }
        DeleteControlFiles(vm.WorkDir);
        LogStopped(vm.SandboxId, vm.Pid);
    }

    public async Task<VmHandle?> AdoptAsync(VmHandle vm, CancellationToken cancellationToken)
    {
        if (!VmProcess.IsSame(vm.Pid, vm.Properties.GetValueOrDefault("startTime")))
            return null;
        try
        {
            await using var qmp = await ConnectAsync(vm, cancellationToken);
            await qmp.ExecuteAsync("query-status", null, cancellationToken);
            return vm;
        }
        catch (Exception e) when (e is QmpException or IOException or System.Net.Sockets.SocketException or VmmException)
        {
            return null;
        }
    }

    public Task<IReadOnlyList<DiscoveredVm>> DiscoverAsync(string ownerPrefix, CancellationToken cancellationToken)
    {
        var found = new List<DiscoveredVm>();
        foreach (var pid in VmProcess.All())
        {
            var args = VmProcess.CommandLine(pid);
            var nameAt = Array.IndexOf(args, "-name");
            if (nameAt < 0 || nameAt + 1 >= args.Length || !args[0].Contains("qemu", StringComparison.Ordinal))
                continue;
            // -name wrenn:{owner}:{sandbox},debug-threads=off
            var name = args[nameAt + 1].Split(',')[0].Split(':');
            if (name.Length == 3 && name[0] == "wrenn" && name[1] == ownerPrefix)
            {
                var pidFileAt = Array.IndexOf(args, "-pidfile");
                var workDir = pidFileAt >= 0 ? Path.GetDirectoryName(args[pidFileAt + 1]) ?? "" : "";
                found.Add(new DiscoveredVm(name[2], pid, workDir));
            }
        }
        return Task.FromResult<IReadOnlyList<DiscoveredVm>>(found);
    }

    private async Task<VmHandle> StartAsync(VmSpec spec, SnapshotFiles? incoming, CancellationToken cancellationToken)
    {
        if (!File.Exists(spec.Kernel.KernelPath))
            throw new VmmException($"The guest kernel '{spec.Kernel.KernelPath}' does not exist: build the image (scripts/setup) or fix the template's kernel path.");
        if (spec.Kernel.InitrdPath is { } initrd && !File.Exists(initrd))
            throw new VmmException($"The guest initramfs '{initrd}' does not exist: build the image (scripts/setup).");
        if (!Capabilities.DiskFormats.Contains(spec.RootDisk.Format))
            throw new VmmException($"QEMU cannot attach a '{spec.RootDisk.Format}' disk.");
        Directory.CreateDirectory(spec.WorkDir);
        var accelerator = await _probe.ChooseAsync(spec.Kernel, cancellationToken);
        var console = Path.Combine(spec.WorkDir, ConsoleLog);
        var args = CommandLine(spec, accelerator, console, incoming);
        var launched = await HostCommand.TryRunAsync("ip", args, cancellationToken);
        var pid = ReadPid(spec.WorkDir);
        if (launched.ExitCode != 0 || pid is null)
        {
            if (pid is { } stray)
                Kill(stray, 9);
            DeleteControlFiles(spec.WorkDir);
            throw new VmmException($"QEMU did not start for {spec.SandboxId}: {launched.Stderr.Trim()}") { ConsoleTail = VmmException.TailOf(console) };
        }
        var properties = new Dictionary<string, string>
        {
            ["startTime"] = VmProcess.StartTime(pid.Value) ?? "",
            ["accelerator"] = accelerator,
            ["namespace"] = spec.Network.Namespace,
            ["memoryMib"] = spec.MemoryMib.ToString(CultureInfo.InvariantCulture),
            ["vcpus"] = spec.Vcpus.ToString(CultureInfo.InvariantCulture),
        };
        if (spec.Memory is { Kind: MemoryBackingKind.File, Path: { } memoryPath } memory)
        {
            properties["memoryPath"] = memoryPath;
            properties["memoryShared"] = memory.Shared ? "true" : "false";
        }
        var vm = new VmHandle(spec.SandboxId, Name, pid.Value, spec.WorkDir, console, properties);
        LogStarted(spec.SandboxId, pid.Value, accelerator, spec.Network.Namespace);
        return vm;
    }

    private List<string> CommandLine(VmSpec spec, string accelerator, string console, SnapshotFiles? incoming)
    {
        var kernelArgs = new List<string> { "console=ttyS0", "quiet", "panic=-1", "root=/dev/vda", "rw" };
        if (accelerator == "tcg" && HostTscKhz() is { } khz)
            kernelArgs.Add($"tsc_early_khz={khz}"); // without it, TCG boots hang now and then calibrating the TSC
        kernelArgs.AddRange(spec.KernelArgs);

        var machine = $"microvm,accel={accelerator},acpi=on";
        var args = new List<string>
        {
            "netns", "exec", spec.Network.Namespace, _options.Binary,
            "-name", $"wrenn:{_host.OwnerPrefix}:{spec.SandboxId},debug-threads=off",
            "-cpu", accelerator == "kvm" ? "host" : "max",
            "-smp", spec.Vcpus.ToString(CultureInfo.InvariantCulture),
            "-m", $"{spec.MemoryMib}M",
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-serial", $"file:{console}",
            "-kernel", spec.Kernel.KernelPath,
            "-append", string.Join(' ', kernelArgs),
            "-drive", $"id=root,file={spec.RootDisk.Path},format={spec.RootDisk.Format},if=none,discard=unmap",
            "-device", "virtio-blk-device,drive=root",
            "-netdev", $"tap,id=net0,ifname={spec.Network.TapDevice},script=no,downscript=no",
            "-device", $"virtio-net-device,netdev=net0,mac={spec.Network.Guest.MacAddress}",
            "-qmp", $"unix:{Path.Combine(spec.WorkDir, QmpSocket)},server=on,wait=off",
            "-pidfile", Path.Combine(spec.WorkDir, PidFile),
            "-daemonize",
        };
        if (spec.Kernel.InitrdPath is { } initrd)
            args.AddRange(["-initrd", initrd]);
        if (spec.Memory is { Kind: MemoryBackingKind.File, Path: { } memoryPath } memory)
        {
            args.AddRange(["-object", $"memory-backend-file,id=mem,size={spec.MemoryMib}M,mem-path={memoryPath},share={(memory.Shared ? "on" : "off")}"]);
            machine += ",memory-backend=mem";
        }
        args.AddRange(["-M", machine]);
        if (incoming is not null)
            args.AddRange(["-incoming", "defer"]);
        return args;
    }

    private async Task<QmpClient> ConnectAsync(VmHandle vm, CancellationToken cancellationToken)
    {
        try
        {
            return await QmpClient.ConnectAsync(Path.Combine(vm.WorkDir, QmpSocket), cancellationToken);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            throw new VmmException($"QEMU of {vm.SandboxId} (pid {vm.Pid}) does not answer on QMP: {e.Message}") { ConsoleTail = VmmException.TailOf(vm.ConsoleLogPath) };
        }
    }

    private static async Task WaitForMigrationAsync(QmpClient qmp, VmHandle vm, CancellationToken cancellationToken)
    {
        while (true)
        {
            var status = (await qmp.ExecuteAsync("query-migrate", null, cancellationToken))?["status"]?.GetValue<string>();
            switch (status)
            {
                case "completed":
                    return;
                case "failed" or "cancelled":
                    throw new VmmException($"Saving the state of {vm.SandboxId} failed (migration {status}); is the snapshot folder's disk full?");
            }
            await Task.Delay(20, cancellationToken);
        }
    }

    private static async Task WaitForIncomingAsync(QmpClient qmp, VmHandle vm, CancellationToken cancellationToken)
    {
        while (true)
        {
            var status = (await qmp.ExecuteAsync("query-status", null, cancellationToken))?["status"]?.GetValue<string>();
            if (status is "paused" or "postmigrate" or "running")
            {
                var migrate = (await qmp.ExecuteAsync("query-migrate", null, cancellationToken))?["status"]?.GetValue<string>();
                if (migrate is "completed" or null)
                    return;
                if (migrate is "failed")
                    throw new VmmException($"Loading the saved state of {vm.SandboxId} failed.") { ConsoleTail = VmmException.TailOf(vm.ConsoleLogPath) };
            }
            await Task.Delay(20, cancellationToken);
        }
    }

    private static JsonObject IgnoreShared(bool on) => new()
    {
        ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "x-ignore-shared", ["state"] = on }),
    };

    private static async Task<bool> WaitForFileAsync(string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!File.Exists(path))
        {
            if (DateTime.UtcNow > deadline)
                return false;
            await Task.Delay(20, cancellationToken);
        }
        return true;
    }

    /// <summary>Removes the QMP socket and pid file; idempotent, also when the work folder is gone.</summary>
    private static void DeleteControlFiles(string workDir)
    {
        if (!Directory.Exists(workDir))
            return;
        File.Delete(Path.Combine(workDir, QmpSocket));
        File.Delete(Path.Combine(workDir, PidFile));
    }

    private static int? ReadPid(string workDir)
    {
        var path = Path.Combine(workDir, PidFile);
        return File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), out var pid) ? pid : null;
    }

    private static async Task<bool> WaitForExitAsync(int pid, string? startTime, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (VmProcess.IsSame(pid, startTime))
        {
            if (DateTime.UtcNow > deadline)
                return false;
            await Task.Delay(50, cancellationToken);
        }
        return true;
    }

    private static void Kill(int pid, int signal) => _ = kill(pid, signal); // ESRCH: already gone

    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    /// <summary>The host's TSC frequency, which TCG passes through to the guest.</summary>
    private static long? HostTscKhz()
    {
        foreach (var line in File.ReadLines("/proc/cpuinfo"))
        {
            if (line.StartsWith("cpu MHz", StringComparison.Ordinal)
                && double.TryParse(line[(line.IndexOf(':') + 1)..].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var mhz))
                return (long)(mhz * 1000);
        }
        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "QEMU started for {SandboxId}: pid {Pid}, {Accelerator}, netns {Namespace}")]
    private partial void LogStarted(string sandboxId, int pid, string accelerator, string @namespace);

    [LoggerMessage(Level = LogLevel.Information, Message = "QEMU of {SandboxId} (pid {Pid}) stopped")]
    private partial void LogStopped(string sandboxId, int pid);
}
