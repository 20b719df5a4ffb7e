using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Vmm;
using Wrenn.Plugins.Jail;
using Wrenn.Plugins.Jail.Roots;

namespace Wrenn.Plugins.Vmm.Qemu;

/// <summary>
/// QEMU <c>microvm</c> with virtio-mmio disk and network, one process per VM, each in its
/// sandbox's jail (Wrenn.Plugins.Jail: its own uid, root, PID namespace and cgroup, with QEMU's own
/// seccomp filter) inside the sandbox's network namespace, detached so that it outlives the silo (a
/// restarted silo adopts it again). Controlled over QMP on a socket in the VM's work folder; the
/// guest console goes to a log file there, which errors quote. Device state is saved to and loaded
/// from files the silo opens and hands over on the QMP socket: a jailed QEMU can neither open them
/// nor spawn a shell to.
/// </summary>
public sealed partial class QemuVmm : IVmm
{
    private const string QmpSocket = "qmp.sock";
    private const string ConsoleLog = "console.log";
    private const string QemuLog = "qemu.log";
    private const string PrivateMemoryCopy = "memory.private";
    private const int TapFd = 3;
    private const long MiB = 1024 * 1024;
    private readonly QemuOptions _options;
    private readonly PluginHost _host;
    private readonly ILogger<QemuVmm> _logger;
    private readonly AcceleratorProbe _probe;
    private readonly SemaphoreSlim _probing = new(1, 1);
    private QemuInstallation? _installation;

    public QemuVmm(IOptions<QemuOptions> options, PluginHost host, ILogger<QemuVmm> logger)
    {
        _options = options.Value;
        _host = host;
        _logger = logger;
        _probe = new AcceleratorProbe(_options, host, logger);
        Jails = new Jails(_options.Jail, host, logger, $"{QemuOptions.Section}:Jail");
    }

    public string Name => "qemu";

    /// <summary>What the silo reserves per VM beyond guest RAM: the measured figure (<see cref="QemuOptions.ReservedOverheadMib"/>).</summary>
    public int HostOverheadMib => _options.ReservedOverheadMib;

    /// <summary>The jails the VMs run in (their cgroups' accounting is read through it).</summary>
    public Jails Jails { get; }

    public VmmCapabilities Capabilities { get; } = new(
        Snapshots: true,
        DiffSnapshots: false,
        MemoryBackings: [MemoryBackingKind.Anonymous, MemoryBackingKind.File],
        DiskFormats: ["raw", "qcow2"]);

    /// <summary>The jail a running VM's handle records.</summary>
    public SandboxJail JailOf(VmHandle vm) => SandboxJail.FromProperties(_host.OwnerPrefix, vm.SandboxId, vm.Properties);

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
    /// Writes the device state with QEMU's migration into a file this process opens and hands to
    /// QEMU over QMP (<c>getfd</c>, then <c>migrate fd:</c>). RAM in a shared file backing stays in
    /// that file (x-ignore-shared), so the snapshot costs what the devices hold, not the guest's
    /// memory size; with anonymous or private memory, RAM goes into the stream.
    /// </summary>
    public async Task<SnapshotFiles> SnapshotAsync(VmHandle vm, SnapshotRequest request, CancellationToken cancellationToken) =>
        (await WriteSnapshotAsync(vm, request, live: false, cancellationToken)).Files;

    /// <summary>
    /// The migration into a state file. On a running VM (<paramref name="live"/>) it is QEMU's live
    /// migration: RAM that goes into the stream is copied while the guest runs, and QEMU stops the
    /// vCPUs only for what the guest dirtied meanwhile and the devices (its <c>downtime</c>).
    /// </summary>
    private async Task<LiveSnapshot> WriteSnapshotAsync(VmHandle vm, SnapshotRequest request, bool live, CancellationToken cancellationToken)
    {
        if (request.Kind != SnapshotKind.Full)
            throw new VmmException("QEMU snapshots are full device-state snapshots; diff snapshots are Firecracker's (use the firecracker VMM).");
        var statePath = Path.Combine(request.Directory, "vmstate");
        var partialPath = statePath + ".partial";
        var sharedMemory = vm.Properties.TryGetValue("memoryShared", out var shared) && shared == "true";
        await using var qmp = await ConnectAsync(vm, cancellationToken);
        await qmp.ExecuteAsync("migrate-set-capabilities", IgnoreShared(sharedMemory), cancellationToken);
        if (live)
        {
            // QEMU 7.2 copies at 32 MiB/s by default; the stream goes to a local file, as fast as it can.
            await qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = LiveBandwidth }, cancellationToken);
        }
        TimeSpan downtime;
        System.Diagnostics.Stopwatch seen;
        try
        {
            // Only the renamed file counts as a snapshot: it is renamed once QEMU wrote all of it
            // (a failed write, such as a full disk, fails the migration) and it reached the disk.
            await using (var state = new FileStream(partialPath, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                await qmp.ExecuteAsync("getfd", new JsonObject { ["fdname"] = "vmstate" }, state.SafeFileHandle, cancellationToken);
                await qmp.ExecuteAsync("migrate", new JsonObject { ["uri"] = "fd:vmstate" }, cancellationToken);
                (downtime, seen) = await WaitForMigrationAsync(qmp, vm, live ? TimeSpan.FromMilliseconds(2) : TimeSpan.FromMilliseconds(20), cancellationToken);
                if (!live)
                    state.Flush(flushToDisk: true); // a pause is to disk; a fork's children start from the page cache
            }
            File.Move(partialPath, statePath);
        }
        catch
        {
            File.Delete(partialPath);
            throw;
        }
        var memoryFiles = vm.Properties.TryGetValue("memoryPath", out var memoryPath) && sharedMemory ? new[] { memoryPath } : [];
        // What wrote the state, so that a restore by another build can tell what it is given.
        var version = (await qmp.ExecuteAsync("query-version", null, cancellationToken))?["qemu"];
        var files = new SnapshotFiles(request.Directory, statePath, memoryFiles, SnapshotKind.Full,
            int.Parse(vm.Properties["memoryMib"], CultureInfo.InvariantCulture),
            int.Parse(vm.Properties["vcpus"], CultureInfo.InvariantCulture),
            new Dictionary<string, string>
            {
                ["ignoreShared"] = sharedMemory ? "true" : "false",
                ["vmm"] = "qemu",
                ["vmmVersion"] = version is null ? "unknown" : $"{version["major"]}.{version["minor"]}.{version["micro"]}",
                ["stateFormat"] = "qemu-migration-stream",
            });
        return new LiveSnapshot(files, downtime + seen.Elapsed);
    }

    /// <summary>Starts QEMU waiting for an incoming migration, hands it the saved state over QMP, and lets the guest run.</summary>
    public async Task<VmHandle> RestoreAsync(VmSpec spec, SnapshotFiles snapshot, CancellationToken cancellationToken)
    {
        if (snapshot.MemoryMib != spec.MemoryMib || snapshot.Vcpus != spec.Vcpus)
            throw new VmmException($"A snapshot of {snapshot.Vcpus} vCPUs and {snapshot.MemoryMib} MiB cannot be restored into {spec.Vcpus} vCPUs and {spec.MemoryMib} MiB.");
        if (!File.Exists(snapshot.StateFile))
            throw new VmmException($"The saved state {snapshot.StateFile} of {spec.SandboxId} is gone; the snapshot cannot be restored.");
        var vm = await StartAsync(spec, incoming: snapshot, cancellationToken);
        try
        {
            await using var qmp = await ConnectAsync(vm, cancellationToken);
            var ignoreShared = snapshot.Properties.TryGetValue("ignoreShared", out var s) && s == "true";
            await qmp.ExecuteAsync("migrate-set-capabilities", IgnoreShared(ignoreShared), cancellationToken);
            await using (var state = new FileStream(snapshot.StateFile, FileMode.Open, FileAccess.Read, FileShare.Read))
            {
                await qmp.ExecuteAsync("getfd", new JsonObject { ["fdname"] = "vmstate" }, state.SafeFileHandle, cancellationToken);
                await qmp.ExecuteAsync("migrate-incoming", new JsonObject { ["uri"] = "fd:vmstate" }, cancellationToken);
                await WaitForIncomingAsync(qmp, vm, cancellationToken);
            }
            await qmp.ExecuteAsync("cont", null, cancellationToken);
            return vm;
        }
        catch
        {
            await StopAsync(vm, CancellationToken.None);
            throw;
        }
    }

    /// <summary>Ends QEMU (QMP quit, then signals), then its jail: whatever else is in its cgroup ends, the uid is freed.</summary>
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
                VmProcess.Kill(vm.Pid, 15);
                if (!await WaitForExitAsync(vm.Pid, startTime, TimeSpan.FromSeconds(2), cancellationToken))
                {
                    VmProcess.Kill(vm.Pid, 9);
                    await WaitForExitAsync(vm.Pid, startTime, TimeSpan.FromSeconds(5), cancellationToken);
                }
            }
        }
        await Jails.ReleaseAsync(JailOf(vm), cancellationToken);
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
            if (VmProcess.QemuName(VmProcess.CommandLine(pid)) is not { } name || name.Owner != ownerPrefix)
                continue;
            var qmp = QemuCommandLine.QmpSocketOf(VmProcess.CommandLine(pid));
            found.Add(new DiscoveredVm(name.SandboxId, pid, qmp is null ? "" : Path.GetDirectoryName(qmp) ?? ""));
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
        var binary = _options.ResolveBinary()
            ?? throw new VmmException($"The QEMU binary '{_options.Binary}' was not found: install qemu-system-x86 or set {QemuOptions.Section}:Binary.");
        Directory.CreateDirectory(spec.WorkDir);
        var accelerator = await _probe.ChooseAsync(spec.Kernel, cancellationToken);
        var qemu = await InstallationAsync(binary, cancellationToken);
        var console = Path.Combine(spec.WorkDir, ConsoleLog);
        var log = Path.Combine(spec.WorkDir, QemuLog);

        var jail = Jails.Acquire(spec.SandboxId);
        JailedProcess? started = null;
        try
        {
            Jails.Limit(jail, Jails.LimitsFor(spec.Vcpus, (spec.MemoryMib + _options.MemoryOverheadMib) * MiB));
            var (memoryFile, readOnlyPrivate, ramFromStream) = await MemoryFileAsync(spec, jail, qemu, incoming, cancellationToken);
            var run = new QemuRun(_host.OwnerPrefix, accelerator, jail.Jailed, _options.TcgTranslationCacheMib, memoryFile, readOnlyPrivate,
                console, Path.Combine(spec.WorkDir, QmpSocket), TapFd, HostTscKhz(), incoming is not null, ramFromStream);
            var program = new JailedProgram(binary, QemuCommandLine.For(spec, run), RootFor(spec, qemu, accelerator, memoryFile, readOnlyPrivate), log,
                spec.Network.Namespace, Taps: [new TapHandover(spec.Network.TapDevice, TapFd)],
                Environment: _options.MallocArenaMax is { } arenas ? new Dictionary<string, string> { ["MALLOC_ARENA_MAX"] = arenas.ToString(CultureInfo.InvariantCulture) } : null,
                // The largest files it writes: its disk and, for private memory, a state file holding RAM.
                FileSizeLimit: DiskChain.VirtualSize(spec.RootDisk.Path, spec.RootDisk.Format) + spec.MemoryMib * MiB + 1024 * MiB);
            try
            {
                started = await Jails.StartAsync(jail, program, cancellationToken);
            }
            catch (JailException e)
            {
                throw new VmmException(e.Message, e) { ConsoleTail = VmmException.TailOf(console) };
            }

            var properties = new Dictionary<string, string>(jail.ToProperties())
            {
                ["startTime"] = VmProcess.StartTime(started.Pid) ?? "",
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
            var vm = new VmHandle(spec.SandboxId, Name, started.Pid, spec.WorkDir, console, properties);
            await WaitForQmpAsync(vm, log, cancellationToken);
            LogStarted(spec.SandboxId, started.Pid, accelerator, spec.Network.Namespace, jail.Uid);
            return vm;
        }
        catch
        {
            if (started is not null)
            {
                VmProcess.Kill(started.Pid, 9);
                VmProcess.Kill(started.InitPid, 9);
            }
            await Jails.ReleaseAsync(jail, CancellationToken.None);
            throw;
        }
    }

    /// <summary>
    /// What QEMU sees in its jail: its work folder, the guest kernel and initramfs, its disk (its
    /// own, writable) and the read-only images under it, its memory file, its firmware and modules,
    /// /dev/null and /dev/urandom, and /dev/kvm only under KVM. No /proc, /sys or /dev/net/tun: the
    /// TAP device comes as an open descriptor.
    /// </summary>
    private static JailRoot RootFor(VmSpec spec, QemuInstallation qemu, string accelerator, string? memoryFile, bool readOnlyPrivate)
    {
        var root = new JailRoot()
            .Writable(spec.WorkDir)
            .ReadOnly(spec.Kernel.KernelPath)
            .ReadOnly(qemu.DataFolders)
            .ReadOnly(qemu.ModuleFolders)
            .Writable(spec.RootDisk.Path)
            .ReadOnly(DiskChain.BackingFiles(spec.RootDisk.Path, spec.RootDisk.Format))
            .Device("/dev/null")
            .Device("/dev/urandom");
        if (spec.Kernel.InitrdPath is { } initrd)
            root.ReadOnly(initrd);
        if (memoryFile is not null)
        {
            if (readOnlyPrivate)
                root.ReadOnly(memoryFile);
            else
                root.Writable(memoryFile);
        }
        if (accelerator == "kvm")
            root.Device("/dev/kvm");
        return root;
    }

    /// <summary>
    /// The file guest RAM maps. A private mapping (a template child) must not be able to change the
    /// template's file: QEMU 8.2+ maps it read-only (<c>rom=off</c>); QEMU 7.2 insists on opening it
    /// read-write, so a jailed one maps a copy of its own in its work folder instead (sparse, and a
    /// reflink where the filesystem has them). Unjailed, QEMU maps the template file itself. A restore
    /// whose stream carries all of RAM (a template child's own snapshot: x-ignore-shared off) needs
    /// none of the template's content, every page comes from the stream: its RAM is anonymous memory
    /// (<see cref="QemuRun.RamFromStream"/>), no file and no copy.
    /// </summary>
    private static async Task<(string? File, bool ReadOnlyPrivate, bool RamFromStream)> MemoryFileAsync(VmSpec spec, SandboxJail jail, QemuInstallation qemu, SnapshotFiles? incoming, CancellationToken cancellationToken)
    {
        if (spec.Memory is not { Kind: MemoryBackingKind.File, Path: { } path } memory)
            return (null, false, false);
        if (!memory.Shared && incoming is not null && StreamCarriesRam(incoming))
            return (null, false, true);
        if (memory.Shared || !jail.Jailed)
            return (path, false, false);
        if (qemu.MapsReadOnlyFilesPrivately)
            return (path, true, false);
        var copy = Path.Combine(spec.WorkDir, PrivateMemoryCopy);
        await HostCommand.RunAsync("cp", ["--reflink=auto", "--sparse=always", path, copy], cancellationToken);
        File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserWrite); // the template's is read-only
        return (copy, false, false);
    }

    /// <summary>Whether a snapshot's stream holds the guest's RAM (saved without x-ignore-shared) rather than leaving it in a shared file.</summary>
    private static bool StreamCarriesRam(SnapshotFiles snapshot) =>
        snapshot.Properties.TryGetValue("ignoreShared", out var ignoreShared) && ignoreShared == "false";

    private async Task<QemuInstallation> InstallationAsync(string binary, CancellationToken cancellationToken)
    {
        if (_installation is { } known && known.Binary == binary)
            return known;
        await _probing.WaitAsync(cancellationToken);
        try
        {
            return _installation is { } again && again.Binary == binary
                ? again
                : _installation = await QemuInstallation.ProbeAsync(binary, cancellationToken);
        }
        finally
        {
            _probing.Release();
        }
    }

    /// <summary>Waits until QEMU answers on QMP; a QEMU that exits first fails with its own output and the console.</summary>
    private async Task WaitForQmpAsync(VmHandle vm, string log, CancellationToken cancellationToken)
    {
        var socket = Path.Combine(vm.WorkDir, QmpSocket);
        var deadline = DateTime.UtcNow + _options.StartTimeout;
        var startTime = vm.Properties["startTime"];
        while (true)
        {
            if (!VmProcess.IsSame(vm.Pid, startTime))
                throw new VmmException($"QEMU of {vm.SandboxId} exited as it started: {Tail(log)}") { ConsoleTail = VmmException.TailOf(vm.ConsoleLogPath) };
            if (File.Exists(socket))
            {
                try
                {
                    await using var qmp = await QmpClient.ConnectAsync(socket, cancellationToken);
                    return;
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or QmpException)
                {
                    // Not listening yet.
                }
            }
            if (DateTime.UtcNow > deadline)
                throw new VmmException($"QEMU of {vm.SandboxId} did not answer on QMP within {_options.StartTimeout.TotalSeconds:0} s: {Tail(log)}") { ConsoleTail = VmmException.TailOf(vm.ConsoleLogPath) };
            // Short: every create and restore waits here, and a QMP check costs well under a millisecond.
            await Task.Delay(QmpPoll, cancellationToken);
        }
    }

    /// <summary>How often QEMU is asked whether it is ready (QMP up, saved state loaded).</summary>
    private static readonly TimeSpan QmpPoll = TimeSpan.FromMilliseconds(5);

    private static string Tail(string log)
    {
        var text = VmmException.TailOf(log, 10).Trim();
        return text.Length > 0 ? text : "(no output)";
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

    /// <summary>Waits for the migration to complete; returns how long QEMU had the vCPUs stopped for it, and a clock started when completion was seen.</summary>
    private static async Task<(TimeSpan Downtime, System.Diagnostics.Stopwatch Seen)> WaitForMigrationAsync(QmpClient qmp, VmHandle vm, TimeSpan poll, CancellationToken cancellationToken)
    {
        while (true)
        {
            var migration = await qmp.ExecuteAsync("query-migrate", null, cancellationToken);
            var status = migration?["status"]?.GetValue<string>();
            if (status == "completed")
                return (TimeSpan.FromMilliseconds(migration?["downtime"]?.GetValue<long>() ?? 0), System.Diagnostics.Stopwatch.StartNew());
            if (status is "failed" or "cancelled")
            {
                var reason = migration?["error-desc"]?.GetValue<string>();
                throw new VmmException($"Saving the state of {vm.SandboxId} failed (migration {status}{(reason is null ? "" : $": {reason}")}); is the snapshot folder's disk full?");
            }
            await Task.Delay(poll, cancellationToken);
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
            await Task.Delay(QmpPoll, cancellationToken);
        }
    }

    private static JsonObject IgnoreShared(bool on) => new()
    {
        ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "x-ignore-shared", ["state"] = on }),
    };

    /// <summary>Removes the QMP socket; idempotent, also when the work folder is gone.</summary>
    private static void DeleteControlFiles(string workDir)
    {
        if (Directory.Exists(workDir))
            File.Delete(Path.Combine(workDir, QmpSocket));
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

    [LoggerMessage(Level = LogLevel.Information, Message = "QEMU started for {SandboxId}: pid {Pid}, {Accelerator}, netns {Namespace}, uid {Uid}")]
    private partial void LogStarted(string sandboxId, int pid, string accelerator, string @namespace, int uid);

    [LoggerMessage(Level = LogLevel.Information, Message = "QEMU of {SandboxId} (pid {Pid}) stopped")]
    private partial void LogStopped(string sandboxId, int pid);
}
