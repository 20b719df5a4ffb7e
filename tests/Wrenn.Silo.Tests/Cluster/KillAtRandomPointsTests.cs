using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Wrenn.Abstractions.Plugins;
using Wrenn.Grains.Sandboxes;
using Wrenn.Plugins.Memory.File;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;
using Wrenn.Testing.Postgres;
using Xunit.Abstractions;

namespace Wrenn.Silo.Tests.Cluster;

/// <summary>
/// A silo process killed with SIGKILL at seeded random moments of a create, a pause, a resume and
/// a template creation, then started again: every time, the host and the database agree, nothing
/// is left behind (VMs, netns, slots, disks, memory and snapshot files, template folders), no
/// running sandbox is lost, and no paused one: at the end every paused sandbox resumes. The seed is
/// printed; <c>WRENN_CRASH_SEED</c> replays a run and <c>WRENN_CRASH_POINTS</c> sets how many kills
/// (4 here, 20 in bench/soak/kill-at-random-points.sh).
/// </summary>
public sealed class KillAtRandomPointsTests(ITestOutputHelper output)
{
    private enum Operation { Create, Pause, Resume, Template }

    /// <summary>How long each operation takes under TCG here, roughly: kills land anywhere inside it.</summary>
    private static readonly Dictionary<Operation, int> WindowMs = new()
    {
        [Operation.Create] = 2500, [Operation.Pause] = 1500, [Operation.Resume] = 2000, [Operation.Template] = 4000,
    };

    [Fact]
    public async Task A_silo_killed_in_the_middle_of_lifecycle_operations_repairs_itself_on_restart_and_leaks_nothing()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("WRENN_CRASH_SEED"), out var s) ? s : Random.Shared.Next();
        var points = int.TryParse(Environment.GetEnvironmentVariable("WRENN_CRASH_POINTS"), out var p) ? p : 4;
        output.WriteLine($"kill-at-random-points: seed {seed}, {points} points (replay with WRENN_CRASH_SEED={seed})");
        var random = new Random(seed);
        var operations = Enumerable.Range(0, points).Select(i => i < 4 ? (Operation)i : (Operation)random.Next(4)).OrderBy(_ => random.Next()).ToList();

        await HostSweep.RemoveLeftoversAsync();
        var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("kill-points");
        var owner = TestPrefix.NewOwner();
        var dataDir = $"/run/wrenn/{owner}-data";
        var name = $"{owner}-silo";
        WrennProcess? silo = null;
        await using var data = NpgsqlDataSource.Create(database);
        try
        {
            using (await MachineGate.EnterAsync())
                silo = await WrennProcess.StartAsync(dataDir, database, owner, name); // boots the warm base once
            var key = silo.FirstAdminKey!;
            var templates = 0;
            foreach (var (operation, point) in operations.Select((o, i) => (o, i)))
            {
                using var api = new GraphQLClient(silo.Api, key);
                var subject = await PrepareAsync(api, data, operation);
                var delay = random.Next(WindowMs[operation]);
                output.WriteLine($"point {point}: {operation} of {subject ?? "a new sandbox"}, kill after {delay} ms");
                var request = operation switch
                {
                    Operation.Create => api.SendAsync("mutation { createSandbox(input: {template: \"base\", timeoutSeconds: 3600}) { id } }"),
                    Operation.Pause => api.SendAsync("mutation ($id: ID!) { pauseSandbox(id: $id) { state } }", new { id = subject }),
                    Operation.Resume => api.SendAsync("mutation ($id: ID!) { resumeSandbox(id: $id) { state } }", new { id = subject }),
                    _ => api.SendAsync("mutation ($id: ID!, $name: String!) { createTemplateFromSandbox(sandboxId: $id, name: $name) { id } }",
                        new { id = subject, name = $"crash-{templates++}" }),
                };
                using (await MachineGate.EnterAsync())
                {
                    await Task.WhenAny(request, Task.Delay(delay));
                    silo.Kill();
                    await request.ContinueWith(_ => { }); // it failed with the connection, or finished just before
                    silo = await WrennProcess.StartAsync(dataDir, database, owner, name);
                }
                await CheckAgreementAsync(new GraphQLClient(silo.Api, key), data, owner, dataDir, $"after point {point} ({operation}, {delay} ms, seed {seed})\n{silo.Output()}");
            }

            // No paused sandbox was lost: each resumes and answers; then everything goes.
            using var final = new GraphQLClient(silo.Api, key);
            foreach (var (id, state) in await SandboxesAsync(data))
            {
                if (state == SandboxState.Paused)
                    await final.DataAsync("mutation ($id: ID!) { resumeSandbox(id: $id) { state } }", new { id });
                if (state is SandboxState.Paused or SandboxState.Running)
                {
                    await final.DataAsync("mutation ($id: ID!) { exec(sandboxId: $id, command: \"true\") { exitCode } }", new { id });
                    await final.DataAsync("mutation ($id: ID!) { destroySandbox(id: $id) }", new { id });
                }
            }
            foreach (var template in await TemplateNamesAsync(data))
                await final.DataAsync("mutation ($name: String!) { deleteTemplate(name: $name) }", new { name = template });
            Assert.Empty(await HostObjectsAsync(owner, dataDir));
        }
        finally
        {
            if (silo is not null)
                await silo.DisposeAsync();
            await MultiProcessClusterTests.RemoveEverythingOfAsync(owner);
        }
    }

    /// <summary>A sandbox in the state the operation needs (made without any kill), or null for a create.</summary>
    private static async Task<string?> PrepareAsync(GraphQLClient api, NpgsqlDataSource data, Operation operation)
    {
        var all = await SandboxesAsync(data);
        var wanted = operation switch
        {
            Operation.Create => (SandboxState?)null,
            Operation.Resume => SandboxState.Paused,
            _ => SandboxState.Running,
        };
        if (wanted is null)
            return null;
        if (all.FirstOrDefault(x => x.State == wanted).Id is { } found)
            return found;
        using var gate = await MachineGate.EnterAsync();
        var id = (await api.DataAsync("mutation { createSandbox(input: {template: \"base\", timeoutSeconds: 3600}) { id } }"))["createSandbox"]!["id"]!.GetValue<string>();
        if (wanted == SandboxState.Paused)
            await api.DataAsync("mutation ($id: ID!) { pauseSandbox(id: $id) { state } }", new { id });
        return id;
    }

    /// <summary>What the database says and what the host holds must agree.</summary>
    private static async Task CheckAgreementAsync(GraphQLClient api, NpgsqlDataSource data, string owner, string dataDir, string context)
    {
        using (api)
        {
            var sandboxes = await SandboxesAsync(data);
            Assert.True(sandboxes.All(x => x.State != SandboxState.Creating), $"a sandbox stayed Creating {context}");
            Assert.True(sandboxes.All(x => x.State != SandboxState.Lost), $"a sandbox was lost: {string.Join(", ", sandboxes)} {context}");
            var running = sandboxes.Where(x => x.State == SandboxState.Running).Select(x => x.Id).ToHashSet();
            var withFiles = sandboxes.Where(x => x.State is SandboxState.Running or SandboxState.Paused).Select(x => x.Id).ToHashSet();
            foreach (var id in running)
            {
                var answer = await api.SendAsync("mutation ($id: ID!) { exec(sandboxId: $id, command: \"true\") { exitCode } }", new { id });
                Assert.True(GraphQLClient.ErrorCode(answer) is null, $"running sandbox {id} does not answer: {answer.ToJsonString()} {context}");
            }
            foreach (var (id, stateFile) in await PausedStateFilesAsync(data))
                Assert.True(File.Exists(stateFile), $"paused sandbox {id} lost its snapshot {stateFile} {context}");

            var plugins = Plugins(owner, dataDir);
            var vms = (await plugins.Vmm.DiscoverAsync(owner, CancellationToken.None)).Select(v => v.SandboxId).ToList();
            var slots = (await plugins.Network.DiscoverAsync(owner, CancellationToken.None)).Select(n => n.SandboxId).ToList();
            var disks = (await plugins.Storage.DiscoverAsync(owner, CancellationToken.None)).Select(d => d.SandboxId).ToList();
            var memory = (await plugins.Memory.DiscoverAsync(owner, CancellationToken.None)).Select(m => m.SandboxId).ToList();
            Assert.True(vms.All(running.Contains), $"VMs of sandboxes that are not running: {string.Join(", ", vms.Except(running))} {context}");
            Assert.True(slots.All(running.Contains), $"network slots of sandboxes that are not running: {string.Join(", ", slots.Except(running))} {context}");
            Assert.True(disks.All(withFiles.Contains), $"disks nobody claims: {string.Join(", ", disks.Except(withFiles))} {context}");
            Assert.True(memory.All(withFiles.Contains), $"memory files nobody claims: {string.Join(", ", memory.Except(withFiles))} {context}");
            var snapshots = Path.Combine(dataDir, "snapshots");
            var snapshotDirs = Directory.Exists(snapshots) ? Directory.EnumerateDirectories(snapshots).Select(Path.GetFileName).ToList() : [];
            Assert.True(snapshotDirs.All(d => withFiles.Contains(d!)), $"snapshot folders nobody claims: {string.Join(", ", snapshotDirs)} {context}");

            var templateDirs = await TemplateDirsAsync(data);
            Assert.True(templateDirs.All(Directory.Exists), $"a template's files are gone {context}");
            var onDisk = Path.Combine(dataDir, "templates");
            var folders = Directory.Exists(onDisk) ? Directory.EnumerateDirectories(onDisk).Select(Path.GetFullPath).ToList() : [];
            Assert.True(folders.All(f => templateDirs.Select(Path.GetFullPath).Contains(f)), $"template folders no template claims: {string.Join(", ", folders)} {context}");
        }
    }

    private static async Task<List<(string Id, SandboxState State)>> SandboxesAsync(NpgsqlDataSource data)
    {
        await using var command = data.CreateCommand("SELECT id, state FROM wrenn_sandboxes ORDER BY created_at");
        var found = new List<(string, SandboxState)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            found.Add((reader.GetString(0), Enum.Parse<SandboxState>(reader.GetString(1))));
        return found;
    }

    private static async Task<List<(string Id, string StateFile)>> PausedStateFilesAsync(NpgsqlDataSource data)
    {
        await using var command = data.CreateCommand("SELECT id, paused::text FROM wrenn_sandboxes WHERE state = 'Paused'");
        var found = new List<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            found.Add((reader.GetString(0), JsonNode.Parse(reader.GetString(1))!["snapshot"]!["stateFile"]!.GetValue<string>()));
        return found;
    }

    private static Task<List<string>> TemplateDirsAsync(NpgsqlDataSource data) =>
        TextsAsync(data, "SELECT source->>'snapshotDir' FROM wrenn_templates WHERE deleted_at IS NULL AND kind = 'snapshot'");

    private static Task<List<string>> TemplateNamesAsync(NpgsqlDataSource data) =>
        TextsAsync(data, "SELECT name FROM wrenn_templates WHERE deleted_at IS NULL AND kind = 'snapshot' ORDER BY created_at DESC");

    private static async Task<List<string>> TextsAsync(NpgsqlDataSource data, string sql)
    {
        await using var command = data.CreateCommand(sql);
        var found = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            found.Add(reader.GetString(0));
        return found;
    }

    private static LocalPlugins Plugins(string owner, string dataDir) =>
        LocalPlugins.Create(new PluginHost(owner, dataDir, $"/run/wrenn/{owner}", "/run/wrenn", "/var/cache/wrenn"), NullLoggerFactory.Instance);

    private static async Task<List<string>> HostObjectsAsync(string owner, string dataDir)
    {
        var plugins = Plugins(owner, dataDir);
        var found = new List<string>();
        found.AddRange((await plugins.Vmm.DiscoverAsync(owner, CancellationToken.None)).Select(v => $"vm {v.SandboxId}"));
        found.AddRange((await plugins.Network.DiscoverAsync(owner, CancellationToken.None)).Select(n => $"netns {n.Namespace}"));
        found.AddRange((await plugins.Storage.DiscoverAsync(owner, CancellationToken.None)).Select(d => $"disk {d.Path}"));
        found.AddRange((await plugins.Memory.DiscoverAsync(owner, CancellationToken.None)).Select(m => $"memory {m.Backing.Path}"));
        foreach (var folder in new[] { Path.Combine(dataDir, "snapshots"), Path.Combine(dataDir, "templates") })
        {
            if (Directory.Exists(folder))
                found.AddRange(Directory.EnumerateDirectories(folder).Select(d => $"folder {d}"));
        }
        return found;
    }
}
