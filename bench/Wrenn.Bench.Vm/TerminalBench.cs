using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Configuration;
using Wrenn.Guest.Protocol;
using Wrenn.Silo.Hosting;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;
using Wrenn.Testing.Postgres;

/// <summary>
/// Terminal keystroke echo latency: a key sent to a shell on a PTY until its echo comes back, through
/// GraphQL (sendInput over HTTP, the echo on a processOutput subscription, as the web console does),
/// next to the same through the agent directly (a unary SendInput, and one StreamInput call for all
/// keys) on the same shell, in one run.
/// </summary>
internal static class TerminalBench
{
    public static async Task RunAsync(int keystrokes)
    {
        await HostSweep.RemoveLeftoversAsync();
        var owner = TestPrefix.NewOwner();
        var dataDir = $"/run/wrenn/{owner}-data";
        var host = await WrennSiloHost.StartAsync(new WrennSiloOptions
        {
            DataDir = dataDir,
            ConnectionString = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("terminalbench"),
            ImageDir = RepoPaths.ImageDir,
            OwnerPrefix = owner,
            SiloName = $"{owner}-silo",
            OnExit = OnExit.Destroy,
            Configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Wrenn:Api:Port"] = "0" }).Build(),
        }, CancellationToken.None);
        using var http = new HttpClient { BaseAddress = host.ApiAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", host.FirstAdminKey);
        var admin = (await host.Teams.AuthenticateAsync(host.FirstAdminKey!, CancellationToken.None))!;
        var rows = new List<string>();
        try
        {
            var sandbox = await host.Sandboxes.CreateAsync(admin, new NewSandbox("base"), CancellationToken.None);
            var record = (await host.Store.GetAsync(sandbox.Id, CancellationToken.None))!;
            using var agent = record.Vm!.Agent();

            async Task<JsonNode> Post(string query, JsonObject variables)
            {
                using var response = await http.PostAsync("/graphql", new StringContent(new JsonObject { ["query"] = query, ["variables"] = variables }.ToJsonString(), Encoding.UTF8, "application/json"));
                var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
                return body["errors"] is null ? body["data"]! : throw new InvalidOperationException(body.ToJsonString());
            }

            var pid = (await Post("mutation ($id: ID!) { startProcess(sandboxId: $id, command: \"bash\", pty: {cols: 200, rows: 50}) { pid } }",
                new JsonObject { ["id"] = sandbox.Id }))["startProcess"]!["pid"]!.GetValue<int>();

            // Through GraphQL: sendInput over HTTP, the echo on processOutput.
            await using (var echoes = await GraphQLEchoes.AttachAsync(host.ApiAddress, host.FirstAdminKey!, sandbox.Id, pid))
            {
                var viaGraphQL = await MeasureAsync(keystrokes, echoes.Reader, key => Post(
                    "mutation ($id: ID!, $pid: Int!, $data: String!) { sendInput(sandboxId: $id, pid: $pid, data: $data) }",
                    new JsonObject { ["id"] = sandbox.Id, ["pid"] = pid, ["data"] = key }));
                rows.Add(Row("GraphQL: `sendInput` over HTTP, echo on a `processOutput` subscription (as the console)", viaGraphQL));
            }

            // The agent directly, on the same shell: Attach for the echo, SendInput per key, then one StreamInput call for all.
            using var attached = new CancellationTokenSource();
            var agentEchoes = Channel.CreateUnbounded<byte[]>();
            var reading = Task.Run(async () =>
            {
                try
                {
                    await foreach (var e in agent.AttachAsync(pid, attached.Token))
                    {
                        if (e.Pty is { } pty)
                            agentEchoes.Writer.TryWrite(pty.Data.ToByteArray());
                    }
                }
                catch (AgentException) when (attached.IsCancellationRequested)
                {
                }
            });
            var viaAgent = await MeasureAsync(keystrokes, agentEchoes.Reader, key => agent.SendInputAsync(pid, Encoding.UTF8.GetBytes(key), close: false, CancellationToken.None));
            rows.Add(Row("agent directly: unary `SendInput`, echo on `Attach` (baseline)", viaAgent));
            using (var input = agent.OpenInput(pid, CancellationToken.None))
            {
                var viaStream = await MeasureAsync(keystrokes, agentEchoes.Reader, key => input.WriteAsync(Encoding.UTF8.GetBytes(key), CancellationToken.None));
                rows.Add(Row("agent directly: one `StreamInput` call, echo on `Attach` (baseline)", viaStream));
                await input.CompleteAsync(closeInput: false, CancellationToken.None);
            }
            attached.Cancel();
            await reading;
            await host.Sandboxes.Sandbox(sandbox.Id).DestroyAsync(admin);
        }
        finally
        {
            await host.DisposeAsync();
            foreach (var dir in new[] { dataDir, $"/run/wrenn/{owner}" })
            {
                if (Directory.Exists(dir))
                    Directory.Delete(dir, recursive: true);
            }
            TestPrefix.Retire(owner);
        }

        var table = new StringBuilder()
            .AppendLine("# Terminal keystroke echo latency")
            .AppendLine()
            .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Vm -- terminal {keystrokes}` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}, ")
            .AppendLine($"QEMU accelerator: {File.ReadAllText("/run/wrenn/qemu-accelerator").Trim()}. One silo, one sandbox (1 vCPU, 256 MiB), `bash` on a 200×50 PTY; one key at a time, ")
            .AppendLine("from sending it until the first byte of its echo (readline's) arrives; the three ways on the same shell in the same run.")
            .AppendLine()
            .AppendLine("| path | keys | median | p90 | p99 |")
            .AppendLine("|---|---|---|---|---|");
        foreach (var row in rows)
            table.AppendLine(row);
        await File.WriteAllTextAsync(Path.Combine(RepoPaths.Root, "bench", "results", "terminal.md"), table.ToString());
        Console.WriteLine(table);
    }

    /// <summary>
    /// Sends one key at a time and times it until output arrives. Every 40 keys the line is cleared (^U,
    /// not timed) and the output left over is drained, so every timed key meets a quiet terminal.
    /// </summary>
    private static async Task<List<double>> MeasureAsync(int keystrokes, ChannelReader<byte[]> echoes, Func<string, Task> send)
    {
        var times = new List<double>();
        await ClearLineAsync(echoes, send);
        for (var i = 0; i < keystrokes + 10; i++)
        {
            if (i % 40 == 39)
                await ClearLineAsync(echoes, send);
            var clock = Stopwatch.StartNew();
            var echoed = echoes.ReadAsync().AsTask();
            await send("x");
            await echoed;
            if (i >= 10) // the first keys warm the paths up
                times.Add(clock.Elapsed.TotalMilliseconds);
        }
        await ClearLineAsync(echoes, send);
        return times;
    }

    private static async Task ClearLineAsync(ChannelReader<byte[]> echoes, Func<string, Task> send)
    {
        await send("\u0015");
        using var quiet = new CancellationTokenSource();
        while (true)
        {
            quiet.CancelAfter(TimeSpan.FromMilliseconds(300));
            try
            {
                await echoes.ReadAsync(quiet.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (!quiet.TryReset())
                return;
        }
    }

    private static string Row(string name, List<double> times)
    {
        times.Sort();
        double At(double p) => times[(int)Math.Clamp(Math.Round(p * (times.Count - 1)), 0, times.Count - 1)];
        return $"| {name} | {times.Count} | {At(0.5):0.0} ms | {At(0.9):0.0} ms | {At(0.99):0.0} ms |";
    }

    /// <summary>A minimal graphql-transport-ws client: the PTY bytes of one processOutput subscription.</summary>
    private sealed class GraphQLEchoes : IAsyncDisposable
    {
        private readonly ClientWebSocket _socket = new();
        private readonly Channel<byte[]> _echoes = Channel.CreateUnbounded<byte[]>();
        private Task? _reading;

        public ChannelReader<byte[]> Reader => _echoes.Reader;

        public static async Task<GraphQLEchoes> AttachAsync(Uri baseAddress, string key, string sandboxId, int pid)
        {
            var client = new GraphQLEchoes();
            client._socket.Options.AddSubProtocol("graphql-transport-ws");
            await client._socket.ConnectAsync(new UriBuilder(baseAddress) { Scheme = "ws", Path = "/graphql" }.Uri, CancellationToken.None);
            await client.SendAsync(new JsonObject { ["type"] = "connection_init", ["payload"] = new JsonObject { ["authorization"] = $"Bearer {key}" } });
            await client.SendAsync(new JsonObject
            {
                ["id"] = "1", ["type"] = "subscribe",
                ["payload"] = new JsonObject
                {
                    ["query"] = "subscription ($id: ID!, $pid: Int!) { processOutput(sandboxId: $id, pid: $pid) { type data } }",
                    ["variables"] = new JsonObject { ["id"] = sandboxId, ["pid"] = pid },
                },
            });
            client._reading = client.ReadAsync();
            return client;
        }

        private Task SendAsync(JsonObject message) =>
            _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);

        private async Task ReadAsync()
        {
            var buffer = new byte[1 << 20];
            using var message = new MemoryStream();
            try
            {
                while (true)
                {
                    var r = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                    if (r.MessageType == WebSocketMessageType.Close)
                        return;
                    message.Write(buffer, 0, r.Count);
                    if (!r.EndOfMessage)
                        continue;
                    var json = JsonNode.Parse(message.ToArray())!;
                    message.SetLength(0);
                    if (json["type"]!.GetValue<string>() == "next" && json["payload"]?["data"]?["processOutput"] is { } e && e["type"]!.GetValue<string>() == "PTY")
                        _echoes.Writer.TryWrite(Convert.FromBase64String(e["data"]!.GetValue<string>()));
                }
            }
            catch (WebSocketException)
            {
            }
            finally
            {
                _echoes.Writer.TryComplete();
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_socket.State == WebSocketState.Open)
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            if (_reading is not null)
                await _reading;
            _socket.Dispose();
        }
    }
}
