using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Npgsql;
using Wrenn.Silo.Tests.Cluster;
using Wrenn.Testing;
using Wrenn.Testing.Postgres;

namespace Wrenn.Silo.Tests.Upgrade;

/// <summary>
/// A database and data folder written by the previous version (the last commit on Wrenn's own
/// grain runtime, scripts/previous-version, built by scripts/setup.d/50-previous-version.sh) start
/// on this one: teams, keys, templates, running and paused sandboxes are kept; timeouts and
/// retention are registered again from the records; the old runtime's tables are gone. Sandboxes
/// and templates frozen by the old version hold its agent (Connect), which this one no longer
/// speaks: they are refused with FAILED_PRECONDITION saying how to re-create them, never a hang.
/// While a silo of the old version still runs on the database, this version refuses to start, naming it.
/// </summary>
public sealed class UpgradeFromPreviousVersionTests
{
    private static string PreviousCommit => File.ReadAllText(Path.Combine(RepoPaths.Root, "scripts", "previous-version")).Trim();

    private static string PreviousWrenn => Path.Combine(Environment.GetEnvironmentVariable("WRENN_CACHE") is { Length: > 0 } cache ? cache : "/var/cache/wrenn",
        "previous", PreviousCommit, "tree", "Wrenn.Silo", "bin", "Release", "net10.0", "wrenn.dll");

    [Fact]
    public async Task A_database_and_data_folder_of_the_previous_version_start_on_this_one_with_everything_kept()
    {
        Assert.True(File.Exists(PreviousWrenn),
            $"The previous version ({PreviousCommit}) is not built: scripts/setup builds it into {PreviousWrenn} (it needs that commit in the clone's history).");
        await HostSweep.RemoveLeftoversAsync();
        var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("upgrade");
        var (owner, intruder) = (TestPrefix.NewOwner(), TestPrefix.NewOwner());
        var dataDir = $"/run/wrenn/{owner}-data";
        var name = $"{owner}-silo";
        var port = FreePort();
        WrennProcess? old = null, current = null;
        try
        {
            using (await MachineGate.EnterAsync())
                old = await WrennProcess.StartAsync(PreviousWrenn, WrennProcess.RunArguments(dataDir, database, owner, name, port.ToString()));
            var adminKey = await old.WaitForLineAsync("^wrn_", TimeSpan.FromSeconds(30));
            using var admin = new GraphQLClient(new Uri($"http://127.0.0.1:{port}"), adminKey);
            await admin.DataAsync("mutation { createTeam(name: \"upgrade-team\") { id } }");
            var teamKey = (await admin.DataAsync("mutation { createApiKey(team: \"upgrade-team\") { key } }"))["createApiKey"]!["key"]!.GetValue<string>();
            using var before = new GraphQLClient(new Uri($"http://127.0.0.1:{port}"), teamKey);
            string running, paused;
            using (await MachineGate.EnterAsync())
            {
                running = await CreateAsync(before);
                paused = await CreateAsync(before);
            }
            await WriteAsync(before, running, "/root/running.txt", "written before the upgrade");
            await WriteAsync(before, paused, "/root/paused.txt", "paused before the upgrade");
            await before.DataAsync("mutation ($id: ID!) { createTemplateFromSandbox(sandboxId: $id, name: \"kept-template\") { id } }", new { id = running });
            await before.DataAsync("mutation ($id: ID!) { pauseSandbox(id: $id) { state } }", new { id = paused });

            // While the old silo runs, this version refuses the database, naming it.
            var (exitCode, refusal) = await RunToExitAsync(WrennProcess.RunArguments($"/run/wrenn/{intruder}-data", database, intruder, $"{intruder}-silo", "0", "--warm-base", "false"));
            Assert.True(exitCode != 0 && refusal.Contains(name, StringComparison.Ordinal), $"this version started beside a live silo of the old one ({exitCode}):\n{refusal}");

            await old.StopAsync(); // SIGTERM: its VMs keep running for the next start
            current = await WrennProcess.StartAsync(dataDir, database, owner, name);
            using var after = new GraphQLClient(current.Api, teamKey);

            Assert.Equal("upgrade-team", (await after.DataAsync("{ me { name } }"))["me"]!["name"]!.GetValue<string>());
            var templates = (await after.DataAsync("{ templates { name } }"))["templates"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()).ToList();
            Assert.Contains("kept-template", templates);
            Assert.Equal("RUNNING", await StateAsync(after, running));
            Assert.Equal("PAUSED", await StateAsync(after, paused));
            // The old sandboxes hold the old agent (Connect) in their memory: kept, but refused with how to re-create them.
            var exec = await after.SendAsync("mutation ($id: ID!) { exec(sandboxId: $id, command: \"true\") { exitCode } }", new { id = running });
            Assert.Equal("FAILED_PRECONDITION", GraphQLClient.ErrorCode(exec));
            Assert.Contains("older Wrenn", exec["errors"]![0]!["message"]!.GetValue<string>());

            await using (var data = NpgsqlDataSource.Create(database))
            {
                await using var oldTables = data.CreateCommand("SELECT count(*) FROM pg_tables WHERE tablename IN ('wrenn_silos', 'wrenn_reminders', 'wrenn_grain_state', 'wrenn_grain_directory', 'wrenn_grain_pins')");
                Assert.Equal(0L, await oldTables.ExecuteScalarAsync());
                foreach (var id in new[] { running, paused })
                {
                    await using var reminder = data.CreateCommand("SELECT count(*) FROM orleans_reminders WHERE grain_id LIKE '%' || $1");
                    reminder.Parameters.Add(new() { Value = id });
                    Assert.True((long)(await reminder.ExecuteScalarAsync())! == 1, $"{id}'s timeout or retention was not registered again");
                }
            }

            var resume = await after.SendAsync("mutation ($id: ID!) { resumeSandbox(id: $id) { state } }", new { id = paused });
            Assert.Equal("FAILED_PRECONDITION", GraphQLClient.ErrorCode(resume));
            Assert.Equal("PAUSED", await StateAsync(after, paused));
            JsonObject fromOldTemplate;
            using (await MachineGate.EnterAsync())
                fromOldTemplate = await after.SendAsync("mutation { createSandbox(input: {template: \"kept-template\"}) { id } }");
            Assert.Equal("FAILED_PRECONDITION", GraphQLClient.ErrorCode(fromOldTemplate));
            // What is made on this version works as ever.
            string child;
            using (await MachineGate.EnterAsync())
                child = await CreateAsync(after);
            await WriteAsync(after, child, "/root/new.txt", "made after the upgrade");
            Assert.Equal("made after the upgrade", await CatAsync(after, child, "/root/new.txt"));

            foreach (var id in new[] { child, running, paused })
                await after.DataAsync("mutation ($id: ID!) { destroySandbox(id: $id) }", new { id });
            await after.DataAsync("mutation { deleteTemplate(name: \"kept-template\") }");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\n--- the previous version's silo:\n{old?.Output()}\n--- this version's silo:\n{current?.Output()}");
        }
        finally
        {
            foreach (var silo in new[] { old, current })
            {
                if (silo is not null)
                    await silo.DisposeAsync();
            }
            await MultiProcessClusterTests.RemoveEverythingOfAsync(owner);
            await MultiProcessClusterTests.RemoveEverythingOfAsync(intruder);
        }
    }

    private static async Task<string> CreateAsync(GraphQLClient api) =>
        (await api.DataAsync("mutation { createSandbox(input: {template: \"base\", timeoutSeconds: 1800}) { id } }"))["createSandbox"]!["id"]!.GetValue<string>();

    private static Task WriteAsync(GraphQLClient api, string id, string path, string content) =>
        api.DataAsync("mutation ($id: ID!, $path: String!, $content: String!) { writeFile(sandboxId: $id, path: $path, content: $content) { size } }", new { id, path, content });

    private static async Task<string> StateAsync(GraphQLClient api, string id) =>
        (await api.DataAsync("query ($id: ID!) { sandbox(id: $id) { state } }", new { id }))["sandbox"]!["state"]!.GetValue<string>();

    private static async Task<string> CatAsync(GraphQLClient api, string id, string path) =>
        (await api.DataAsync("query ($id: ID!, $path: String!) { readFile(sandboxId: $id, path: $path) { content } }", new { id, path }))["readFile"]!["content"]!.GetValue<string>();

    /// <summary>This version's <c>wrenn run</c>, expected to stop on its own; its exit code and output.</summary>
    private static async Task<(int ExitCode, string Output)> RunToExitAsync(string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "wrenn.dll"));
        foreach (var arg in arguments)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (0, $"still running after 90 s:\n{await stdout}\n{await stderr}");
        }
        return (process.ExitCode, $"{await stdout}\n{await stderr}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
