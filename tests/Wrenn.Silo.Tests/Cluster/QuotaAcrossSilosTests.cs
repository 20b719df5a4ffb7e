using System.Text.Json.Nodes;
using Wrenn.Testing;
using Wrenn.Testing.Postgres;

namespace Wrenn.Silo.Tests.Cluster;

/// <summary>Two <c>wrenn run</c> processes on one PostgreSQL: a team's quota holds across them.</summary>
public sealed class TwoSilos : IAsyncLifetime
{
    public WrennProcess A { get; private set; } = null!;

    public WrennProcess B { get; private set; } = null!;

    public string AdminKey { get; private set; } = "";

    private readonly List<string> _owners = [];

    public async Task InitializeAsync()
    {
        await HostSweep.RemoveLeftoversAsync();
        var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("quota-two-silos");
        _owners.AddRange([TestPrefix.NewOwner(), TestPrefix.NewOwner()]);
        string[] options = ["--warm-base", "false"];
        A = await WrennProcess.StartAsync(DataDir(_owners[0]), database, _owners[0], $"{_owners[0]}-silo", options);
        B = await WrennProcess.StartAsync(DataDir(_owners[1]), database, _owners[1], $"{_owners[1]}-silo", options);
        AdminKey = A.FirstAdminKey ?? throw new InvalidOperationException($"silo A printed no admin key:\n{A.Output()}");
    }

    private static string DataDir(string owner) => $"/run/wrenn/{owner}-data";

    public async Task DisposeAsync()
    {
        foreach (var silo in new[] { A, B })
        {
            if (silo is not null)
                await silo.DisposeAsync();
        }
        foreach (var owner in _owners)
            await MultiProcessClusterTests.RemoveEverythingOfAsync(owner);
    }
}

public sealed class QuotaAcrossSilosTests(TwoSilos silos) : IClassFixture<TwoSilos>
{
    private const string Create = "mutation { createSandbox(input: {template: \"base\", timeoutSeconds: 900}) { id host { name } } }";

    [Fact]
    public async Task Two_silos_creating_at_once_for_one_team_never_pass_its_quota()
    {
        using var admin = new GraphQLClient(silos.A.Api, silos.AdminKey);
        var teamId = (await admin.DataAsync("mutation ($n: String!) { createTeam(name: $n) { id } }", new { n = $"q-{Guid.NewGuid():N}"[..20] }))["createTeam"]!["id"]!.GetValue<string>();
        await admin.DataAsync("mutation ($t: String!) { setTeamQuota(team: $t, maxRunningSandboxes: 1) { id } }", new { t = teamId });
        // A key per silo (each well within its creates per second).
        async Task<string> KeyAsync() => (await admin.DataAsync("mutation ($t: String!) { createApiKey(team: $t) { key } }", new { t = teamId }))["createApiKey"]!["key"]!.GetValue<string>();
        using var viaA = new GraphQLClient(silos.A.Api, await KeyAsync());
        using var viaB = new GraphQLClient(silos.B.Api, await KeyAsync());

        JsonObject[] answers;
        using (await MachineGate.EnterAsync())
        {
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var creates = Enumerable.Range(0, 6).Select(async i =>
            {
                await start.Task;
                return await (i % 2 == 0 ? viaA : viaB).SendAsync(Create);
            }).ToList();
            start.SetResult();
            answers = await Task.WhenAll(creates);
        }
        var created = answers.Where(a => a["data"]?["createSandbox"]?["id"] is not null).Select(a => a["data"]!["createSandbox"]!["id"]!.GetValue<string>()).ToList();
        try
        {
            var all = string.Join("\n", answers.Select(a => a.ToJsonString()));
            Assert.True(created.Count == 1, $"{created.Count} of 6 creates at once passed a quota of 1 running sandbox:\n{all}");
            var refused = answers.Where(a => GraphQLClient.ErrorCode(a) is not null).ToList();
            Assert.Equal(5, refused.Count);
            Assert.All(refused, a =>
            {
                Assert.Equal("RESOURCE_EXHAUSTED", GraphQLClient.ErrorCode(a));
                Assert.Contains("maxRunningSandboxes is 1 and 1 of its sandboxes run", a["errors"]![0]!["message"]!.GetValue<string>());
            });
            foreach (var client in new[] { viaA, viaB })
                Assert.Equal(1, (await client.DataAsync("{ me { usage { runningSandboxes } } }"))["me"]!["usage"]!["runningSandboxes"]!.GetValue<int>());
        }
        finally
        {
            foreach (var id in created)
                await viaA.DataAsync("mutation ($id: ID!) { destroySandbox(id: $id) }", new { id });
        }
        foreach (var client in new[] { viaA, viaB })
            Assert.Equal(0, (await client.DataAsync("{ me { usage { runningSandboxes } } }"))["me"]!["usage"]!["runningSandboxes"]!.GetValue<int>());
    }
}
