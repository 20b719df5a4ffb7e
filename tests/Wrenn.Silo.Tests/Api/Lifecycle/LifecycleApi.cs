using System.Diagnostics;
using System.Text.Json.Nodes;
using Npgsql;
using Wrenn.Testing;

namespace Wrenn.Silo.Tests.Api.Lifecycle;

/// <summary>What the lifecycle tests do through the API: create with settings, read them, wait for a state, count wakes.</summary>
public sealed class LifecycleApi(ApiFixture api)
{
    public const string Fields = "id state pausedReason onTimeout autoPause { idleSeconds } autoResume expiresAt";

    /// <summary>Creates a sandbox with the given CreateSandboxInput fields (GraphQL text, e.g. <c>autoResume: true</c>) through the machine's VM gate.</summary>
    public async Task<string> CreateAsync(string settings, int timeoutSeconds = 1800, string? key = null)
    {
        using var gate = await MachineGate.EnterAsync();
        var (_, created) = await api.GraphQLAsync(key ?? api.AdminKey,
            $"mutation {{ createSandbox(input: {{template: \"base\", timeoutSeconds: {timeoutSeconds}, {settings}}}) {{ id }} }}");
        return created["data"]?["createSandbox"]?["id"]?.GetValue<string>() ?? throw new InvalidOperationException($"createSandbox failed: {created.ToJsonString()}");
    }

    public async Task<JsonNode> GetAsync(string id) =>
        (await api.DataAsync($"query ($id: ID!) {{ sandbox(id: $id) {{ {Fields} }} }}", new { id }))["sandbox"]!;

    public static string State(JsonNode sandbox) => sandbox["state"]!.GetValue<string>();

    /// <summary>Polls until the sandbox is in <paramref name="state"/>; returns it and how long that took.</summary>
    public async Task<(JsonNode Sandbox, TimeSpan After)> WaitForAsync(string id, string state, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var sandbox = await GetAsync(id);
            if (State(sandbox) == state)
                return (sandbox, clock.Elapsed);
            if (clock.Elapsed > within)
                throw new Xunit.Sdk.XunitException($"sandbox {id} was not {state} within {within}: {sandbox.ToJsonString()}");
            await Task.Delay(250);
        }
    }

    /// <summary>Asserts the sandbox stays in <paramref name="state"/> for <paramref name="time"/> (looked at every half second).</summary>
    public async Task StaysAsync(string id, string state, TimeSpan time, string why)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < time)
        {
            var sandbox = await GetAsync(id);
            Assert.True(State(sandbox) == state, $"{why}: after {clock.Elapsed.TotalSeconds:0.0} s sandbox {id} is {sandbox.ToJsonString()}");
            await Task.Delay(500);
        }
    }

    /// <summary>How many audit rows of <paramref name="action"/> name the sandbox (a wake writes sandbox.wake only when it resumed it).</summary>
    public async Task<long> AuditedAsync(string id, string action)
    {
        await using var data = NpgsqlDataSource.Create(api.Silo.ConnectionString);
        await using var count = data.CreateCommand("SELECT count(*) FROM wrenn_audit WHERE target = $1 AND action = $2");
        count.Parameters.Add(new() { Value = id });
        count.Parameters.Add(new() { Value = action });
        return (long)(await count.ExecuteScalarAsync())!;
    }

    public async Task<JsonNode> ExecAsync(string id, string command, params string[] args) =>
        (await api.DataAsync("mutation ($id: ID!, $c: String!, $a: [String!]) { exec(sandboxId: $id, command: $c, args: $a) { exitCode stdout stderr } }",
            new { id, c = command, a = args }))["exec"]!;

    /// <summary>Waits until something in the guest listens on <paramref name="port"/> (a server that takes a while to start under TCG).</summary>
    public static async Task UntilListeningAsync(ApiFixture api, string id, int port)
    {
        var clock = Stopwatch.StartNew();
        while (!(await api.DataAsync("query ($id: ID!) { sandbox(id: $id) { listeningPorts { port } } }", new { id }))["sandbox"]!["listeningPorts"]!.AsArray()
            .Any(p => p!["port"]!.GetValue<int>() == port))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"nothing listened on port {port} in sandbox {id} within 60 s");
            await Task.Delay(250);
        }
    }

    public Task DestroyAsync(string id, string? key = null) => api.GraphQLAsync(key ?? api.AdminKey, "mutation ($id: ID!) { destroySandbox(id: $id) }", new { id });
}
