using Microsoft.Extensions.Configuration;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Grains.Sandboxes;
using Wrenn.Guest.Protocol.V1;
using Wrenn.Silo.Hosting;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;
using Wrenn.Testing.Postgres;

/// <summary>
/// The GraphQL layer's cost, each next to its baseline in the same run: a small query over HTTP
/// next to the grain call it makes; exec `true` through GraphQL next to the raw agent call; exec
/// output through a subscription next to reading it from the agent directly.
/// </summary>
internal static class ApiBench
{
    public static async Task RunAsync(int seconds)
    {
        var silo = await BenchSilo.StartAsync("apibench");
        var (host, owner, dataDir) = (silo.Host, silo.Owner, silo.DataDir);
        var baseAddress = host.ApiAddress;
        using var http = new HttpClient { BaseAddress = baseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", host.FirstAdminKey);
        var admin = (await host.Teams.AuthenticateAsync(host.FirstAdminKey!, CancellationToken.None))!;
        var rows = new List<string>();
        try
        {
            var sandbox = await host.Sandboxes.CreateAsync(admin, new NewSandbox("base"), CancellationToken.None);
            var grain = host.Sandboxes.Sandbox(sandbox.Id);
            var record = (await host.Store.GetAsync(sandbox.Id, CancellationToken.None))!;
            using var agent = record.Vm!.Agent();

            async Task<JsonNode> Post(string query)
            {
                using var response = await http.PostAsync("/graphql", new StringContent(new JsonObject { ["query"] = query }.ToJsonString(), Encoding.UTF8, "application/json"));
                return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            }

            var smallQuery = $"{{ sandbox(id: \"{sandbox.Id}\") {{ state }} }}";
            var graphql = await Measure(seconds, () => Post(smallQuery));
            var direct = await Measure(seconds, () => grain.GetAsync(admin));
            rows.Add(Row("small query `sandbox(id) { state }` over HTTP", graphql, direct, "the grain call it makes (`GetAsync`)"));

            var execGraphql = await Measure(seconds, () => Post($"mutation {{ exec(sandboxId: \"{sandbox.Id}\", command: \"true\") {{ exitCode }} }}"));
            var execAgent = await Measure(seconds, () => agent.ExecAsync("true", null, CancellationToken.None));
            rows.Add(Row("exec `true` via GraphQL", execGraphql, execAgent, "the raw agent call"));

            const int megabytes = 20;
            var script = $"head -c {megabytes * 1024 * 1024} /dev/zero | tr '\\\\0' a | fold -w 99";
            var clock = Stopwatch.StartNew();
            var viaSubscription = await SubscriptionBytesAsync(baseAddress, host.FirstAdminKey!, sandbox.Id, script);
            var subscriptionRate = viaSubscription / clock.Elapsed.TotalSeconds / (1024 * 1024);
            clock.Restart();
            long viaAgent = 0;
            await foreach (var e in agent.StartAsync(new StartRequest { Command = "sh", Args = { "-c", script } }, CancellationToken.None))
                viaAgent += e.Stdout?.Data.Length ?? 0;
            var agentRate = viaAgent / clock.Elapsed.TotalSeconds / (1024 * 1024);
            rows.Add($"| exec output through an execStream subscription ({megabytes} MiB) | {subscriptionRate:0.0} MiB/s | reading it from the agent directly: {agentRate:0.0} MiB/s | {agentRate / subscriptionRate:0.00}× |");

            await grain.DestroyAsync(admin);
        }
        finally
        {
            await silo.DisposeAsync();
        }

        var table = new StringBuilder()
            .AppendLine("# The GraphQL layer's cost")
            .AppendLine()
            .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Vm -- api {seconds}` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}, ")
            .AppendLine($"QEMU accelerator: {File.ReadAllText("/run/wrenn/qemu-accelerator").Trim()}. One silo, one sandbox (1 vCPU, 256 MiB); one request at a time; baselines in the same run.")
            .AppendLine()
            .AppendLine("| case | through GraphQL | baseline | ratio |")
            .AppendLine("|---|---|---|---|");
        foreach (var row in rows)
            table.AppendLine(row);
        await File.WriteAllTextAsync(Path.Combine(RepoPaths.Root, "bench", "results", "api.md"), table.ToString());
        Console.WriteLine(table);
    }

    private sealed record Timing(double PerSecond, double P50Ms, double P99Ms);

    private static async Task<Timing> Measure<T>(int seconds, Func<Task<T>> call)
    {
        for (var i = 0; i < 20; i++)
            await call();
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            var start = Stopwatch.GetTimestamp();
            await call();
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        latencies.Sort();
        return new Timing(latencies.Count / clock.Elapsed.TotalSeconds, latencies[latencies.Count / 2], latencies[(int)(latencies.Count * 0.99)]);
    }

    private static string Row(string name, Timing ours, Timing baseline, string baselineName) =>
        $"| {name} | {ours.PerSecond:N0}/s, p50 {ours.P50Ms:0.00} ms, p99 {ours.P99Ms:0.00} ms | {baselineName}: {baseline.PerSecond:N0}/s, p50 {baseline.P50Ms:0.00} ms, p99 {baseline.P99Ms:0.00} ms | {ours.P50Ms / baseline.P50Ms:0.0}× (p50) |";

    /// <summary>A minimal graphql-transport-ws client: bytes of STDOUT received until EXIT.</summary>
    private static async Task<long> SubscriptionBytesAsync(Uri baseAddress, string key, string sandboxId, string script)
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("graphql-transport-ws");
        await socket.ConnectAsync(new UriBuilder(baseAddress) { Scheme = "ws", Path = "/graphql" }.Uri, CancellationToken.None);
        async Task Send(JsonObject message) => await socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        await Send(new JsonObject { ["type"] = "connection_init", ["payload"] = new JsonObject { ["authorization"] = $"Bearer {key}" } });
        long bytes = 0;
        var buffer = new byte[1 << 20];
        using var message = new MemoryStream();
        while (true)
        {
            var r = await socket.ReceiveAsync(buffer, CancellationToken.None);
            message.Write(buffer, 0, r.Count);
            if (!r.EndOfMessage)
                continue;
            var json = JsonNode.Parse(message.ToArray())!;
            message.SetLength(0);
            switch (json["type"]!.GetValue<string>())
            {
                case "connection_ack":
                    await Send(new JsonObject
                    {
                        ["id"] = "1", ["type"] = "subscribe",
                        ["payload"] = new JsonObject
                        {
                            ["query"] = "subscription ($id: ID!, $args: [String!]) { execStream(sandboxId: $id, command: \"sh\", args: $args) { type data } }",
                            ["variables"] = new JsonObject { ["id"] = sandboxId, ["args"] = new JsonArray("-c", script) },
                        },
                    });
                    break;
                case "next":
                    var e = json["payload"]!["data"]!["execStream"]!;
                    if (e["type"]!.GetValue<string>() == "STDOUT")
                        bytes += Encoding.UTF8.GetByteCount(e["data"]!.GetValue<string>());
                    break;
                case "complete" or "error":
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
                    return bytes;
            }
        }
    }
}
