using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Abstractions.Plugins;
using Wrenn.Guest.Protocol.V1;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

// bench/Wrenn.Bench.Vm: run as root after scripts/setup.
//   dotnet run -c Release --project bench/Wrenn.Bench.Vm [-- BOOTS ROUNDTRIPS]   → bench/results/vm.md
//   dotnet run -c Release --project bench/Wrenn.Bench.Vm -- snapshots            → bench/results/snapshots.md
//   dotnet run -c Release --project bench/Wrenn.Bench.Vm -- platform [ROUNDS BURST] → bench/results/platform.md
//   dotnet run -c Release --project bench/Wrenn.Bench.Vm -- api [SECONDS]          → bench/results/api.md
//   dotnet run -c Release --project bench/Wrenn.Bench.Vm -- agent [ROUNDTRIPS MIB]  → bench/results/agent.md
//   dotnet run -c Release --project bench/Wrenn.Bench.Vm -- ports [SECONDS MIB]      → bench/results/ports.md
//   dotnet run -c Release --project bench/Wrenn.Bench.Vm -- metrics [ROUNDS SECONDS] → bench/results/metrics.md
//   dotnet run -c Release --project bench/Wrenn.Bench.Vm -- terminal [KEYSTROKES]   → bench/results/terminal.md
//   dotnet run -c Release --project bench/Wrenn.Bench.Vm -- jail [ROUNDS ROUNDTRIPS] → bench/results/jail.md
//   dotnet run -c Release --project bench/Wrenn.Bench.Vm -- wake [ROUNDS]           → bench/results/wake.md
//   dotnet run -c Release --project bench/Wrenn.Bench.Vm -- density [COUNT SETTLE_S [CONFIG...]] → bench/results/density.md
//   dotnet run -c Release --project bench/Wrenn.Bench.Vm -- restore [ROUNDS] --label LABEL → bench/results/restore.md, restore-LABEL.json, restore.png
if (args.FirstOrDefault() == "density")
{
    await DensityBench.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 6, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20, args.Skip(3).ToArray());
    return;
}
if (args.FirstOrDefault() == "restore")
{
    var labelAt = Array.IndexOf(args, "--label");
    var rest = args.Skip(1).Where((_, i) => i + 1 != labelAt && i + 1 != labelAt + 1).ToArray();
    await RestoreBench.RunAsync(rest.Length > 0 ? int.Parse(rest[0], CultureInfo.InvariantCulture) : 5, labelAt >= 0 && labelAt + 1 < args.Length ? args[labelAt + 1] : "run");
    return;
}
if (args.FirstOrDefault() == "wake")
{
    await WakeBench.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8);
    return;
}
if (args.FirstOrDefault() == "jail")
{
    await JailBench.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100);
    return;
}
if (args.FirstOrDefault() == "agent")
{
    await AgentBench.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20);
    return;
}
if (args.FirstOrDefault() == "ports")
{
    await PortsBench.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100);
    return;
}
if (args.FirstOrDefault() == "metrics")
{
    await MetricsBench.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 30);
    return;
}
if (args.FirstOrDefault() == "terminal")
{
    await TerminalBench.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200);
    return;
}
if (args.FirstOrDefault() == "api")
{
    await ApiBench.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5);
    return;
}
if (args.FirstOrDefault() == "fork")
{
    await ForkBench.RunAsync(args.Length > 1 ? [.. args[1].Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture))] : [1, 4, 8]);
    return;
}
if (args.FirstOrDefault() == "platform")
{
    await PlatformBench.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 16);
    return;
}
if (args.FirstOrDefault() == "snapshots")
{
    await SnapshotBench.RunAsync();
    return;
}
var boots = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
var roundTrips = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200;

await HostSweep.RemoveLeftoversAsync();
var owner = TestPrefix.NewOwner();
var runtimeDir = Path.Combine("/run/wrenn", owner);
var host = new PluginHost(owner, runtimeDir, runtimeDir, "/run/wrenn", "/var/cache/wrenn");
var vms = LocalPlugins.Create(host, NullLoggerFactory.Instance).BootOnly(NullLoggerFactory.Instance);
var image = GuestImage.FromDirectory(RepoPaths.ImageDir);

var toFirstExec = new List<double>();
var toUserspace = new List<double>();
for (var i = 0; i < boots; i++)
{
    // Wrenn: create (disk, slot, QEMU, agent health) and the first exec.
    var clock = Stopwatch.StartNew();
    var sandbox = await vms.CreateAsync(Wrenn.Grains.Ids.SandboxId.New().ToString(), image, new VmSize(1, 256), CancellationToken.None);
    using (var agent = sandbox.Agent())
        await agent.ExecAsync("true", null, CancellationToken.None);
    toFirstExec.Add(clock.Elapsed.TotalMilliseconds);
    await vms.DestroyAsync(sandbox, CancellationToken.None);

    // Baseline: the same kernel and image booted by QEMU alone, until its init prints its first line.
    toUserspace.Add(await BareBootAsync(image, i));
    Console.Error.WriteLine($"boot {i + 1}/{boots}: first exec {toFirstExec[^1]:0} ms, bare boot to init {toUserspace[^1]:0} ms");
}

// Round trips on one VM: exec `true` through the agent, next to a raw TCP echo on the same path.
var vm = await vms.CreateAsync(Wrenn.Grains.Ids.SandboxId.New().ToString(), image, new VmSize(1, 256), CancellationToken.None);
var execTimes = new List<double>();
var tcpTimes = new List<double>();
using (var agent = vm.Agent())
{
    for (var i = 0; i < roundTrips; i++)
    {
        var clock = Stopwatch.StartNew();
        await agent.ExecAsync("true", null, CancellationToken.None);
        execTimes.Add(clock.Elapsed.TotalMilliseconds);
    }
    using var echo = new CancellationTokenSource();
    var server = agent.StartAsync(new StartRequest
    {
        Command = "python3",
        Args = { "-c", "import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(('0.0.0.0', 7000)); s.listen()\nprint('ready', flush=True)\nc,_=s.accept()\nwhile True:\n  d=c.recv(1)\n  if not d: break\n  c.sendall(d)" },
    }, echo.Token).GetAsyncEnumerator();
    while (await server.MoveNextAsync() && server.Current.EventCase != ProcessEvent.EventOneofCase.Stdout) { }
    using var tcp = new TcpClient { NoDelay = true };
    await tcp.ConnectAsync(vm.Network.HostAddress, 7000);
    var stream = tcp.GetStream();
    var one = new byte[1];
    for (var i = 0; i < roundTrips; i++)
    {
        var clock = Stopwatch.StartNew();
        await stream.WriteAsync(one);
        await stream.ReadExactlyAsync(one);
        tcpTimes.Add(clock.Elapsed.TotalMilliseconds);
    }
    echo.Cancel();
}
await vms.DestroyAsync(vm, CancellationToken.None);

var table = new StringBuilder()
    .AppendLine("# VM benchmarks (bench/Wrenn.Bench.Vm)")
    .AppendLine()
    .AppendLine($"{DateTime.UtcNow:u}, {Environment.ProcessorCount} cores, accelerator {File.ReadAllText("/run/wrenn/qemu-accelerator").Trim()}, 1 vCPU, 256 MiB.")
    .AppendLine()
    .AppendLine("| measurement | median | p90 | runs | baseline (same run) | baseline median | ratio |")
    .AppendLine("|---|---|---|---|---|---|---|")
    .AppendLine(Row("create to first exec", toFirstExec, "bare QEMU boot of the same kernel and image to its init's first line", toUserspace))
    .AppendLine(Row("exec `true` round trip through the agent", execTimes, "raw TCP 1-byte round trip on the same host→netns→guest path", tcpTimes));
var output = Path.Combine(RepoPaths.Root, "bench", "results", "vm.md");
Directory.CreateDirectory(Path.GetDirectoryName(output)!);
await File.WriteAllTextAsync(output, table.ToString());
Console.WriteLine(table);
if (Directory.Exists(runtimeDir))
    Directory.Delete(runtimeDir, recursive: true);

static string Row(string name, List<double> values, string baselineName, List<double> baseline) =>
    $"| {name} | {Median(values):0.0} ms | {Percentile(values, 0.9):0.0} ms | {values.Count} | {baselineName} | {Median(baseline):0.0} ms | {Median(values) / Median(baseline):0.00}× |";

static double Median(List<double> values) => Percentile(values, 0.5);

static double Percentile(List<double> values, double p)
{
    var sorted = values.OrderBy(v => v).ToList();
    return sorted[(int)Math.Clamp(Math.Round(p * (sorted.Count - 1)), 0, sorted.Count - 1)];
}

async Task<double> BareBootAsync(GuestImage guest, int run)
{
    var dir = Path.Combine(runtimeDir, $"bare{run}");
    Directory.CreateDirectory(dir);
    var overlay = Path.Combine(dir, "disk.qcow2");
    await HostCommand.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", guest.RootFilesystem.Path, "-F", "raw", overlay], CancellationToken.None);
    var console = Path.Combine(dir, "console.log");
    var khz = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("cpu MHz")).Split(':')[1].Trim();
    var start = new ProcessStartInfo("qemu-system-x86_64");
    foreach (var arg in new[]
             {
                 "-M", "microvm,accel=tcg,acpi=on", "-cpu", "max", "-m", "256M", "-smp", "1", "-nodefaults", "-no-user-config",
                 "-display", "none", "-no-reboot", "-serial", $"file:{console}", "-kernel", guest.Kernel.KernelPath,
                 "-initrd", guest.Kernel.InitrdPath!, "-append",
                 $"console=ttyS0 quiet panic=-1 root=/dev/vda rw tsc_early_khz={(long)(double.Parse(khz, CultureInfo.InvariantCulture) * 1000)}",
                 "-drive", $"id=root,file={overlay},format=qcow2,if=none", "-device", "virtio-blk-device,drive=root",
             })
        start.ArgumentList.Add(arg);
    var clock = Stopwatch.StartNew();
    using var qemu = Process.Start(start)!;
    while (!(File.Exists(console) && File.ReadAllText(console).Contains("wrenn-init:")))
    {
        if (clock.Elapsed > TimeSpan.FromSeconds(60))
            throw new TimeoutException("bare boot did not reach init: " + File.ReadAllText(console));
        await Task.Delay(10);
    }
    var elapsed = clock.Elapsed.TotalMilliseconds;
    qemu.Kill();
    await qemu.WaitForExitAsync();
    Directory.Delete(dir, recursive: true);
    return elapsed;
}
