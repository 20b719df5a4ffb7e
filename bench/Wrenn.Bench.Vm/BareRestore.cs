using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Vmm;
using Wrenn.Guest.Protocol;
using Wrenn.Plugins.Vmm.Qemu;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

/// <summary>
/// The restore path's floor: QEMU alone started on the warm base's own snapshot files, with the
/// command line the vmm-qemu plugin builds (<see cref="QemuCommandLine.For"/>) but unjailed, in a
/// network slot of its own, state loaded over QMP as <c>QemuVmm.RestoreAsync</c> loads it; timed from
/// exec to the first TCP connection the guest agent accepts, and to its first gRPC Health answer.
/// </summary>
/// <remarks>
/// Its slots belong to an owner prefix of its own, not the bench silo's, so that the silo's reconciler
/// never takes them for orphans. QEMU runs under <c>ip netns exec</c> and opens the slot's TAP by
/// name: the plugin hands the same TAP over as descriptor 3 from its jail.
/// </remarks>
internal sealed class BareRestore : IAsyncDisposable
{
    private const int TapFd = 3;
    private readonly string _owner;
    private readonly string _runtimeDir;
    private readonly LocalPlugins _plugins;

    private BareRestore(string owner, string runtimeDir, LocalPlugins plugins)
    {
        (_owner, _runtimeDir, _plugins) = (owner, runtimeDir, plugins);
    }

    public static BareRestore Create()
    {
        var owner = TestPrefix.NewOwner();
        var runtimeDir = Path.Combine("/run/wrenn", owner);
        Directory.CreateDirectory(runtimeDir);
        var host = new PluginHost(owner, runtimeDir, runtimeDir, "/run/wrenn", "/var/cache/wrenn");
        return new BareRestore(owner, runtimeDir, LocalPlugins.Create(host, NullLoggerFactory.Instance));
    }

    /// <summary>
    /// One restore of <paramref name="template"/>: milliseconds from exec to QMP answering, to the state
    /// loaded and <c>cont</c> answered (what the silo's "restore" step covers), to the agent's port accepting, and to its Health answer.
    /// </summary>
    public async Task<(double Qmp, double Loaded, double Tcp, double Health)> RunAsync(TemplateSnapshot template, GuestImage image, int run)
    {
        var id = Wrenn.Grains.Ids.SandboxId.New().ToString();
        var dir = Path.Combine(_runtimeDir, $"bare{run}");
        Directory.CreateDirectory(dir);
        var slot = await _plugins.Network.AllocateAsync(id, CancellationToken.None);
        Process? qemu = null;
        try
        {
            // The child's own disk layer over the frozen disk, as storage does for a create from the warm base.
            var overlay = Path.Combine(dir, "disk.qcow2");
            await HostCommand.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", template.Disk.Path, "-F", template.Disk.Format, overlay], CancellationToken.None);
            var snapshot = template.Snapshot;
            var memoryFile = snapshot.MemoryFiles[0];
            var spec = new VmSpec(id, snapshot.Vcpus, snapshot.MemoryMib, image.Kernel,
                new PreparedDisk(id, overlay, "qcow2", true, new Dictionary<string, string>()), slot,
                new MemoryBacking(MemoryBackingKind.File, memoryFile, Shared: false, new Dictionary<string, string>()), [], dir);
            var qmpSocket = Path.Combine(dir, "qmp.sock");
            var run0 = new QemuRun(_owner, "tcg", Jailed: false, new QemuOptions().TcgTranslationCacheMib, memoryFile, ReadOnlyPrivateMemory: false,
                Path.Combine(dir, "console.log"), qmpSocket, TapFd, TscKhz(), Incoming: true);
            var args = QemuCommandLine.For(spec, run0)
                .Select(a => a == $"tap,id=net0,fd={TapFd}" ? $"tap,id=net0,ifname={slot.TapDevice},script=no,downscript=no" : a)
                .ToList();
            var start = new ProcessStartInfo("ip") { RedirectStandardError = true };
            foreach (var arg in new[] { "netns", "exec", slot.Namespace, "qemu-system-x86_64" }.Concat(args))
                start.ArgumentList.Add(arg);

            var clock = Stopwatch.StartNew();
            qemu = Process.Start(start)!;
            double qmpUp;
            await using (var qmp = await ConnectQmpAsync(qmpSocket, qemu))
            {
                qmpUp = clock.Elapsed.TotalMilliseconds;
                var ignoreShared = snapshot.Properties.TryGetValue("ignoreShared", out var s) && s == "true";
                await qmp.ExecuteAsync("migrate-set-capabilities", new JsonObject
                {
                    ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "x-ignore-shared", ["state"] = ignoreShared }),
                }, CancellationToken.None);
                await using (var state = new FileStream(snapshot.StateFile, FileMode.Open, FileAccess.Read, FileShare.Read))
                {
                    await qmp.ExecuteAsync("getfd", new JsonObject { ["fdname"] = "vmstate" }, state.SafeFileHandle, CancellationToken.None);
                    await qmp.ExecuteAsync("migrate-incoming", new JsonObject { ["uri"] = "fd:vmstate" }, CancellationToken.None);
                    await WaitForIncomingAsync(qmp);
                }
                await qmp.ExecuteAsync("cont", null, CancellationToken.None);
            }
            var loaded = clock.Elapsed.TotalMilliseconds;
            await FirstConnectAsync(slot.HostAddress, clock);
            var tcp = clock.Elapsed.TotalMilliseconds;
            await FirstHealthAsync(slot.HostAddress, clock);
            return (qmpUp, loaded, tcp, clock.Elapsed.TotalMilliseconds);
        }
        finally
        {
            if (qemu is not null)
            {
                if (!qemu.HasExited)
                    qemu.Kill(entireProcessTree: true);
                await qemu.WaitForExitAsync();
                qemu.Dispose();
            }
            await _plugins.Network.ReleaseAsync(slot, CancellationToken.None);
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Fresh connects with a short timeout each: a SYN sent before the guest's NIC is back is lost, and
    /// waiting for the kernel's 1 s retransmit would time the retransmit instead of the guest.
    /// </summary>
    private static async Task FirstConnectAsync(IPAddress address, Stopwatch clock)
    {
        while (true)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            using var attempt = new CancellationTokenSource(TimeSpan.FromMilliseconds(15));
            try
            {
                await socket.ConnectAsync(address, AgentEndpoint.DefaultPort, attempt.Token);
                return;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(60))
                    throw new TimeoutException($"the bare restore's agent did not accept on {address}:{AgentEndpoint.DefaultPort} within 60 s");
                if (e is SocketException)
                    await Task.Delay(2); // refused: the guest runs, its agent not yet listening
            }
        }
    }

    private static async Task FirstHealthAsync(IPAddress address, Stopwatch clock)
    {
        using var agent = AgentClient.For(address);
        while (true)
        {
            try
            {
                await agent.HealthAsync(CancellationToken.None, TimeSpan.FromMilliseconds(200));
                return;
            }
            catch (Exception) when (clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(5);
            }
        }
    }

    private static async Task<QmpClient> ConnectQmpAsync(string socket, Process qemu)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (qemu.HasExited)
                throw new InvalidOperationException($"the bare QEMU exited as it started: {await qemu.StandardError.ReadToEndAsync()}");
            if (File.Exists(socket))
            {
                try
                {
                    return await QmpClient.ConnectAsync(socket, CancellationToken.None);
                }
                catch (Exception e) when (e is IOException or SocketException or QmpException)
                {
                    // Not listening yet.
                }
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("the bare QEMU did not answer on QMP within 30 s");
            await Task.Delay(2);
        }
    }

    /// <summary>As the plugin waits: the VM paused with the migration completed.</summary>
    private static async Task WaitForIncomingAsync(QmpClient qmp)
    {
        while (true)
        {
            var status = (await qmp.ExecuteAsync("query-status", null, CancellationToken.None))?["status"]?.GetValue<string>();
            if (status is "paused" or "postmigrate" or "running")
            {
                var migrate = (await qmp.ExecuteAsync("query-migrate", null, CancellationToken.None))?["status"]?.GetValue<string>();
                if (migrate is "completed" or null)
                    return;
                if (migrate is "failed")
                    throw new InvalidOperationException("the bare QEMU failed to load the warm base's state");
            }
            await Task.Delay(20);
        }
    }

    /// <summary>The host's TSC frequency as the plugin passes it (the restored kernel ignores it; the command line carries it all the same).</summary>
    private static long? TscKhz()
    {
        var mhz = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("cpu MHz", StringComparison.Ordinal));
        return mhz is null ? null : (long)(double.Parse(mhz.Split(':')[1].Trim(), CultureInfo.InvariantCulture) * 1000);
    }

    public ValueTask DisposeAsync()
    {
        if (Directory.Exists(_runtimeDir))
            Directory.Delete(_runtimeDir, recursive: true);
        TestPrefix.Retire(_owner);
        return ValueTask.CompletedTask;
    }
}
