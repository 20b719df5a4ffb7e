using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Abstractions.Plugins;
using Wrenn.Silo.Sandboxes;
using Wrenn.Silo.Tests.Api;
using Wrenn.Testing;
using Wrenn.Testing.Postgres;

namespace Wrenn.Silo.Tests.Cluster;

/// <summary>
/// Two <c>wrenn run</c> processes on one PostgreSQL form one cluster: each runs a sandbox, each
/// serves the other's through its API (exec, a 10,000-line execStream over graphql-ws), and when
/// one is killed the other answers UNAVAILABLE for its sandboxes at once and keeps serving its own;
/// the killed silo restarts under its name and its sandbox is back with its files.
/// </summary>
public sealed class MultiProcessClusterTests
{
    private const string Exec = "mutation ($id: ID!, $args: [String!]) { exec(sandboxId: $id, command: \"sh\", args: $args) { exitCode stdout } }";

    [Fact]
    public async Task Two_silo_processes_serve_each_others_sandboxes_and_a_killed_one_is_unavailable_until_it_comes_back()
    {
        await HostSweep.RemoveLeftoversAsync();
        var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("two-processes");
        var (ownerA, ownerB) = (TestPrefix.NewOwner(), TestPrefix.NewOwner());
        string[] options = ["--warm-base", "false"];
        WrennProcess? a = null, b = null;
        try
        {
            a = await WrennProcess.StartAsync(DataDir(ownerA), database, ownerA, $"{ownerA}-silo", options);
            b = await WrennProcess.StartAsync(DataDir(ownerB), database, ownerB, $"{ownerB}-silo", options);
            var key = a.FirstAdminKey ?? throw new InvalidOperationException($"silo A printed no admin key:\n{a.Output()}");
            using var viaA = new GraphQLClient(a.Api, key);
            using var viaB = new GraphQLClient(b.Api, key);

            var onA = await CreateAsync(viaA, $"{ownerA}-silo");
            var onB = await CreateAsync(viaB, $"{ownerB}-silo");

            // B's sandbox through A's API.
            var echoed = await viaA.DataAsync(Exec, new { id = onB, args = new[] { "-c", "echo served through A" } });
            Assert.Equal("served through A\n", echoed["exec"]!["stdout"]!.GetValue<string>());
            await viaA.DataAsync("mutation ($id: ID!) { writeFile(sandboxId: $id, path: \"/root/kept.txt\", content: \"still here\") { size } }", new { id = onB });
            var ws = new UriBuilder(a.Api) { Scheme = "ws", Path = "/graphql" }.Uri.ToString();
            var streamed = await ApiFixture.NodeAsync("exec-stream.mjs", ws, key, onB, "10000");
            Assert.True(streamed["lines"]!.GetValue<int>() == 10_000 && streamed["inOrder"]!.GetValue<bool>() && streamed["error"] is null,
                $"the 10,000-line stream from B's sandbox through A: {streamed.ToJsonString()}");

            // A stream from B's sandbox is open through A when B dies.
            using var ticking = StartNode("ticks-until-end.mjs", ws, key, onB);
            Assert.Equal("ticking", await ticking.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2)));

            b.Kill();
            var streamEnd = await ticking.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2));
            var ended = JsonNode.Parse(streamEnd!)!;
            Assert.True(ended["error"]?["code"]?.GetValue<string>() == "UNAVAILABLE",
                $"the stream from the killed silo's sandbox should end with UNAVAILABLE: {streamEnd}");

            var calls = Stopwatch.StartNew();
            var unavailable = await viaA.SendAsync(Exec, new { id = onB, args = new[] { "-c", "true" } });
            Assert.Equal("UNAVAILABLE", GraphQLClient.ErrorCode(unavailable));
            Assert.Contains($"{ownerB}-silo", unavailable["errors"]![0]!["message"]!.GetValue<string>());
            var own = await viaA.DataAsync(Exec, new { id = onA, args = new[] { "-c", "echo A serves its own" } });
            Assert.Equal("A serves its own\n", own["exec"]!["stdout"]!.GetValue<string>());
            Assert.True(calls.Elapsed < TimeSpan.FromMinutes(1), $"calls while B was down took {calls.Elapsed}");

            // B comes back under its name, on its endpoint: its sandbox is re-adopted with its files.
            b = await WrennProcess.StartAsync(DataDir(ownerB), database, ownerB, $"{ownerB}-silo", options);
            JsonObject? back = null;
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (DateTime.UtcNow < deadline)
            {
                back = await viaA.SendAsync(Exec, new { id = onB, args = new[] { "-c", "cat /root/kept.txt" } });
                if (GraphQLClient.ErrorCode(back) is null)
                    break;
                await Task.Delay(500);
            }
            Assert.True(back?["data"]?["exec"]?["stdout"]?.GetValue<string>() == "still here", $"B's sandbox after B restarted: {back?.ToJsonString()}\nB:\n{b.Output()}");

            foreach (var id in new[] { onA, onB })
                await viaA.DataAsync("mutation ($id: ID!) { destroySandbox(id: $id) }", new { id });
        }
        finally
        {
            foreach (var silo in new[] { a, b })
            {
                if (silo is not null)
                    await silo.DisposeAsync();
            }
            foreach (var owner in new[] { ownerA, ownerB })
                await RemoveEverythingOfAsync(owner);
        }
    }

    private static string DataDir(string owner) => $"/run/wrenn/{owner}-data";

    private static async Task<string> CreateAsync(GraphQLClient api, string expectedHost)
    {
        using var gate = await MachineGate.EnterAsync();
        var created = await api.DataAsync("mutation { createSandbox(input: {template: \"base\", timeoutSeconds: 900}) { id host { name } } }");
        Assert.Equal(expectedHost, created["createSandbox"]!["host"]?["name"]?.GetValue<string>());
        return created["createSandbox"]!["id"]!.GetValue<string>();
    }

    private static Process StartNode(string script, params string[] args)
    {
        var start = new ProcessStartInfo("node", [Path.Combine(RepoPaths.NodeTests, "api", script), .. args])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.Combine(RepoPaths.NodeTests, "api"),
        };
        return Process.Start(start)!;
    }

    /// <summary>Whatever a failed run left of a silo: its VMs, netns, disks, snapshots and folders.</summary>
    internal static async Task RemoveEverythingOfAsync(string owner)
    {
        var dataDir = DataDir(owner);
        var plugins = LocalPlugins.Create(new PluginHost(owner, dataDir, $"/run/wrenn/{owner}", "/run/wrenn", "/var/cache/wrenn"), NullLoggerFactory.Instance);
        await plugins.WithSnapshots(NullLoggerFactory.Instance).RemoveOrphansAsync(_ => false, CancellationToken.None);
        foreach (var dir in new[] { dataDir, $"/run/wrenn/{owner}", $"/run/wrenn/pg-{owner}" })
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
        TestPrefix.Retire(owner);
    }
}
