using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Abstractions.Plugins;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.V1;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

/// <summary>
/// The agent protocol's cost on one VM, in one run: exec `true` round trips and exec output
/// throughput over gRPC (the agent in the image) and over the old Connect agent (the last one
/// before gRPC, from artifacts/agent-connect, copied into the same guest and started beside it),
/// next to a raw TCP 1-byte round trip on the same host→netns→guest path.
/// </summary>
internal static class AgentBench
{
    private const int ConnectPort = 49998;
    private const int EchoPort = 7000;

    public static async Task RunAsync(int roundTrips, int outputMib)
    {
        if (!File.Exists(RepoPaths.ConnectAgentBinary))
            throw new FileNotFoundException($"The Connect agent {RepoPaths.ConnectAgentBinary} is missing: run scripts/setup (31-agent-connect).");
        await HostSweep.RemoveLeftoversAsync();
        var owner = TestPrefix.NewOwner();
        var runtimeDir = Path.Combine("/run/wrenn", owner);
        var host = new PluginHost(owner, runtimeDir, runtimeDir, "/run/wrenn", "/var/cache/wrenn");
        var vms = LocalPlugins.Create(host, NullLoggerFactory.Instance).BootOnly(NullLoggerFactory.Instance);
        var image = GuestImage.FromDirectory(RepoPaths.ImageDir);
        var vm = await vms.CreateAsync(Wrenn.Grains.Ids.SandboxId.New().ToString(), image, new VmSize(1, 256), CancellationToken.None);
        var ct = CancellationToken.None;
        try
        {
            using var agent = vm.Agent();
            await using (var binary = File.OpenRead(RepoPaths.ConnectAgentBinary))
                await agent.WriteFileAsync("/root/wrenn-agent-connect", binary, ct);
            await agent.ExecAsync("chmod", ["755", "/root/wrenn-agent-connect"], ct);
            await agent.StartProcessAsync(new StartRequest { Command = "/root/wrenn-agent-connect", Args = { "--port", ConnectPort.ToString() } }, ct);
            await agent.StartProcessAsync(new StartRequest { Command = "python3", Args = { "-c", EchoServer } }, ct);
            using var connect = new ConnectExec(new Uri($"http://{vm.Network.HostAddress}:{ConnectPort}/"));
            await WaitForAsync(() => connect.ExecAsync("true", ct));
            await WaitForAsync(async () => { using var tcp = new TcpClient(); await tcp.ConnectAsync(vm.Network.HostAddress, EchoPort, ct); });

            // Interleaved, so that a slow phase of the emulated machine hits both protocols alike.
            var grpcTimes = new List<double>();
            var connectTimes = new List<double>();
            for (var i = 0; i < roundTrips; i++)
            {
                var clock = Stopwatch.StartNew();
                await agent.ExecAsync("true", null, ct);
                grpcTimes.Add(clock.Elapsed.TotalMilliseconds);
                clock.Restart();
                await connect.ExecAsync("true", ct);
                connectTimes.Add(clock.Elapsed.TotalMilliseconds);
            }

            var bytes = outputMib * 1024L * 1024;
            var command = $"head -c {bytes} /dev/zero";
            var grpcRates = new List<double>();
            var connectRates = new List<double>();
            for (var i = 0; i < 3; i++)
            {
                var clock = Stopwatch.StartNew();
                var result = await agent.ExecAsync("sh", ["-c", command], ct);
                grpcRates.Add(Check(result.Stdout.LongLength, bytes) / 1048576.0 / clock.Elapsed.TotalSeconds);
                clock.Restart();
                var received = await connect.ExecAsync("sh", ct, "-c", command);
                connectRates.Add(Check(received, bytes) / 1048576.0 / clock.Elapsed.TotalSeconds);
            }

            var tcpTimes = new List<double>();
            using (var tcp = new TcpClient { NoDelay = true })
            {
                await tcp.ConnectAsync(vm.Network.HostAddress, EchoPort, ct);
                var stream = tcp.GetStream();
                var one = new byte[1];
                for (var i = 0; i < roundTrips; i++)
                {
                    var clock = Stopwatch.StartNew();
                    await stream.WriteAsync(one, ct);
                    await stream.ReadExactlyAsync(one, ct);
                    tcpTimes.Add(clock.Elapsed.TotalMilliseconds);
                }
            }

            var table = new StringBuilder()
                .AppendLine("# The guest agent protocol: gRPC against the old Connect agent (bench/Wrenn.Bench.Vm agent)")
                .AppendLine()
                .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Vm -- agent {roundTrips} {outputMib}` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}, " +
                            $"accelerator {File.ReadAllText("/run/wrenn/qemu-accelerator").Trim()}, one VM (1 vCPU, 256 MiB). Both agents run in the same guest at the same time " +
                            "(the Connect agent is the last one before gRPC, copied in and started beside the image's agent); calls alternate between them; " +
                            "one connection each, reused. The raw TCP round trip goes to a Python echo server in the same guest.")
                .AppendLine()
                .AppendLine("| measurement | gRPC agent (HTTP/2) | Connect agent (HTTP/1.1), same run | gRPC / Connect | raw TCP 1-byte round trip, same path |")
                .AppendLine("|---|---|---|---|---|")
                .AppendLine($"| exec `true` round trip, median ({roundTrips} each) | {Median(grpcTimes):0.0} ms | {Median(connectTimes):0.0} ms | {Median(grpcTimes) / Median(connectTimes):0.00}× | {Median(tcpTimes):0.00} ms |")
                .AppendLine($"| exec `true` round trip, p90 | {Percentile(grpcTimes, 0.9):0.0} ms | {Percentile(connectTimes, 0.9):0.0} ms | {Percentile(grpcTimes, 0.9) / Percentile(connectTimes, 0.9):0.00}× | {Percentile(tcpTimes, 0.9):0.00} ms |")
                .AppendLine($"| exec output throughput ({outputMib} MiB of stdout, best of 3) | {grpcRates.Max():0.0} MiB/s | {connectRates.Max():0.0} MiB/s | {grpcRates.Max() / connectRates.Max():0.00}× | |");
            var output = Path.Combine(RepoPaths.Root, "bench", "results", "agent.md");
            await File.WriteAllTextAsync(output, table.ToString(), ct);
            Console.WriteLine(table);
        }
        finally
        {
            await vms.DestroyAsync(vm, CancellationToken.None);
            if (Directory.Exists(runtimeDir))
                Directory.Delete(runtimeDir, recursive: true);
        }
    }

    private const string EchoServer =
        "import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(('0.0.0.0', 7000)); s.listen()\n" +
        "while True:\n c,_=s.accept()\n c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n while True:\n  d=c.recv(1)\n  if not d: break\n  c.sendall(d)";

    private static long Check(long received, long expected) =>
        received == expected ? received : throw new InvalidOperationException($"Got {received} bytes of output, expected {expected}.");

    private static async Task WaitForAsync(Func<Task> probe)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await probe();
                return;
            }
            catch (Exception) when (attempt < 100)
            {
                await Task.Delay(100);
            }
        }
    }

    private static double Median(List<double> values) => Percentile(values, 0.5);

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted[(int)Math.Clamp(Math.Round(p * (sorted.Count - 1)), 0, sorted.Count - 1)];
    }

    /// <summary>
    /// Just enough of the Connect protocol to drive the old agent's ProcessService/Start: one POST
    /// per call over a kept-alive HTTP/1.1 connection, the request and the events in 5-byte
    /// envelopes (flags, big-endian length); flag 2 marks the end of the stream. The baseline only;
    /// the product has no Connect code any more.
    /// </summary>
    private sealed class ConnectExec(Uri baseAddress) : IDisposable
    {
        private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };

        /// <summary>Runs the command to its end; returns the stdout bytes received.</summary>
        public async Task<long> ExecAsync(string command, CancellationToken cancellationToken, params string[] args)
        {
            var start = new StartRequest { Command = command };
            start.Args.AddRange(args);
            var message = start.ToByteArray();
            var body = new byte[5 + message.Length];
            BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(1), message.Length);
            message.CopyTo(body, 5);
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/connect+proto");
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, "wrenn.guest.v1.ProcessService/Start")) { Content = content, Version = HttpVersion.Version11 };
            request.Headers.Add("Connect-Protocol-Version", "1");
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            response.EnsureSuccessStatusCode();
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var header = new byte[5];
            long stdout = 0;
            var exited = false;
            while (true)
            {
                await stream.ReadExactlyAsync(header, cancellationToken);
                var payload = new byte[BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1))];
                await stream.ReadExactlyAsync(payload, cancellationToken);
                if ((header[0] & 0x02) != 0)
                    return exited ? stdout : throw new InvalidOperationException($"The Connect agent ended '{command}' without an exit: {Encoding.UTF8.GetString(payload)}");
                var e = ProcessEvent.Parser.ParseFrom(payload);
                if (e.EventCase == ProcessEvent.EventOneofCase.Stdout)
                    stdout += e.Stdout.Data.Length;
                if (e.EventCase == ProcessEvent.EventOneofCase.Exited)
                    exited = true;
            }
        }

        public void Dispose() => _http.Dispose();
    }
}
