using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Quotas;
using Wrenn.Silo.Tests.Api;
using Wrenn.Testing;

namespace Wrenn.Silo.Tests.Quotas;

/// <summary>Quotas per team through the API on one silo: setting them, refusing what passes them, counting what holds them, settling what a crash left.</summary>
[Collection(ApiCollection.Name)]
public sealed class TeamQuotaTests(ApiFixture api)
{
    private const string QuotaFields = "quota { maxRunningSandboxes maxVcpus maxMemoryMib maxPausedSandboxes } usage { runningSandboxes vcpus memoryMib pausedSandboxes }";

    private TeamQuotas Quotas => api.Silo.Host.Services.GetRequiredService<TeamQuotas>();

    [Fact]
    public async Task setTeamQuota_changes_the_limits_it_is_given_leaves_the_omitted_ones_and_null_removes_one()
    {
        var team = await ApiTeam.CreateAsync(api);
        var set = await AdminAsync($"mutation ($t: String!) {{ setTeamQuota(team: $t, maxRunningSandboxes: 2, maxVcpus: 4, maxMemoryMib: 1024) {{ id {QuotaFields} }} }}", new { t = team.Caller.TeamId });
        Assert.Equal("""{"maxRunningSandboxes":2,"maxVcpus":4,"maxMemoryMib":1024,"maxPausedSandboxes":null}""", set["setTeamQuota"]!["quota"]!.ToJsonString());

        var changed = await AdminAsync("mutation ($t: String!, $none: Int) { setTeamQuota(team: $t, maxVcpus: $none, maxPausedSandboxes: 3) { quota { maxRunningSandboxes maxVcpus maxMemoryMib maxPausedSandboxes } } }",
            new { t = team.Caller.TeamId, none = (int?)null });
        Assert.Equal("""{"maxRunningSandboxes":2,"maxVcpus":null,"maxMemoryMib":1024,"maxPausedSandboxes":3}""", changed["setTeamQuota"]!["quota"]!.ToJsonString());

        // The team sees it too, with nothing used yet.
        var (_, me) = await api.GraphQLAsync(team.Key, $"{{ me {{ {QuotaFields} }} }}");
        Assert.Equal("""{"maxRunningSandboxes":2,"maxVcpus":null,"maxMemoryMib":1024,"maxPausedSandboxes":3}""", me["data"]!["me"]!["quota"]!.ToJsonString());
        Assert.Equal("""{"runningSandboxes":0,"vcpus":0,"memoryMib":0,"pausedSandboxes":0}""", me["data"]!["me"]!["usage"]!.ToJsonString());
    }

    [Theory]
    [InlineData("maxRunningSandboxes", -1)]
    [InlineData("maxVcpus", 1_000_001)]
    [InlineData("maxMemoryMib", int.MaxValue)]
    [InlineData("maxPausedSandboxes", -2_000_000_000)]
    public async Task A_negative_or_absurd_limit_is_BAD_USER_INPUT_naming_it_and_changes_nothing(string limit, int value)
    {
        var team = await ApiTeam.CreateAsync(api);
        await AdminAsync("mutation ($t: String!) { setTeamQuota(team: $t, maxRunningSandboxes: 5) { id } }", new { t = team.Caller.TeamId });
        var (_, refused) = await api.GraphQLAsync(api.AdminKey, $"mutation ($t: String!, $v: Int) {{ setTeamQuota(team: $t, {limit}: $v) {{ id }} }}",
            new { t = team.Caller.TeamId, v = value });
        Assert.Equal("BAD_USER_INPUT", Code(refused));
        Assert.Contains(limit, Message(refused));
        Assert.Contains(value.ToString(System.Globalization.CultureInfo.InvariantCulture), Message(refused));
        Assert.Equal(5, (await Quotas.GetAsync(team.Caller.TeamId, CancellationToken.None))!.MaxRunningSandboxes);
    }

    [Fact]
    public async Task Only_admin_keys_set_quotas_and_an_unknown_team_is_NOT_FOUND()
    {
        var team = await ApiTeam.CreateAsync(api);
        var (_, byMember) = await api.GraphQLAsync(team.Key, "mutation ($t: String!) { setTeamQuota(team: $t, maxRunningSandboxes: 100) { id } }", new { t = team.Caller.TeamId });
        Assert.Equal("FORBIDDEN", Code(byMember));
        var (_, unknown) = await api.GraphQLAsync(api.AdminKey, "mutation { setTeamQuota(team: \"no-such-team\", maxRunningSandboxes: 1) { id } }");
        Assert.Equal("NOT_FOUND", Code(unknown));
        Assert.Equal(TeamQuota.None, await Quotas.GetAsync(team.Caller.TeamId, CancellationToken.None));
    }

    [Fact]
    public async Task A_create_resume_or_pause_past_a_quota_is_RESOURCE_EXHAUSTED_naming_the_quota_and_the_use()
    {
        var team = await ApiTeam.CreateAsync(api);
        await AdminAsync("mutation ($t: String!) { setTeamQuota(team: $t, maxRunningSandboxes: 1, maxPausedSandboxes: 0) { id } }", new { t = team.Caller.TeamId });
        var id = await CreateAsync(team);
        Data.SandboxRecord? occupant = null;
        try
        {
            Assert.Equal("""{"runningSandboxes":1,"vcpus":1,"memoryMib":256,"pausedSandboxes":0}""", await UsageAsync(team));

            // A second create: refused before any host is asked, naming the quota and the use.
            var (_, second) = await api.GraphQLAsync(team.Key, "mutation { createSandbox(input: {template: \"base\"}) { id } }");
            Assert.Equal("RESOURCE_EXHAUSTED", Code(second));
            Assert.Contains("maxRunningSandboxes is 1 and 1 of its sandboxes run", Message(second));

            // No room among paused sandboxes: the pause is refused and it runs on.
            var (_, pause) = await api.GraphQLAsync(team.Key, "mutation ($id: ID!) { pauseSandbox(id: $id) { state } }", new { id });
            Assert.Equal("RESOURCE_EXHAUSTED", Code(pause));
            Assert.Contains("maxPausedSandboxes is 0 and 0 of its sandboxes are paused", Message(pause));
            Assert.Equal("RUNNING", await StateAsync(team, id));

            await AdminAsync("mutation ($t: String!) { setTeamQuota(team: $t, maxPausedSandboxes: null) { id } }", new { t = team.Caller.TeamId });
            var (_, paused) = await api.GraphQLAsync(team.Key, "mutation ($id: ID!) { pauseSandbox(id: $id) { state } }", new { id });
            Assert.Equal("PAUSED", paused["data"]?["pauseSandbox"]?["state"]?.GetValue<string>());
            Assert.Equal("""{"runningSandboxes":0,"vcpus":0,"memoryMib":0,"pausedSandboxes":1}""", await UsageAsync(team));

            // Another sandbox of the team runs now (its record written as its grain would, on no host, counted as its create would).
            occupant = await team.InsertSandboxAsync(SandboxState.Running);
            await Quotas.HoldAsync(new SandboxHold(team.Caller.TeamId, occupant.Id, HoldKind.Running, 1, 256), enforce: false, CancellationToken.None);
            var (_, resume) = await api.GraphQLAsync(team.Key, "mutation ($id: ID!) { resumeSandbox(id: $id) { state } }", new { id });
            Assert.Equal("RESOURCE_EXHAUSTED", Code(resume));
            Assert.Contains("maxRunningSandboxes is 1 and 1 of its sandboxes run", Message(resume));
            Assert.Equal("PAUSED", await StateAsync(team, id));

            // vCPUs count the same way.
            await AdminAsync("mutation ($t: String!) { setTeamQuota(team: $t, maxRunningSandboxes: null, maxVcpus: 1) { id } }", new { t = team.Caller.TeamId });
            var (_, byVcpus) = await api.GraphQLAsync(team.Key, "mutation ($id: ID!) { resumeSandbox(id: $id) { state } }", new { id });
            Assert.Equal("RESOURCE_EXHAUSTED", Code(byVcpus));
            Assert.Contains("maxVcpus is 1, its running sandboxes use 1 and this one needs 1", Message(byVcpus));

            await AdminAsync("mutation ($t: String!) { setTeamQuota(team: $t, maxVcpus: 2) { id } }", new { t = team.Caller.TeamId });
            using (await MachineGate.EnterAsync())
            {
                var (_, resumed) = await api.GraphQLAsync(team.Key, "mutation ($id: ID!) { resumeSandbox(id: $id) { state } }", new { id });
                Assert.Equal("RUNNING", resumed["data"]?["resumeSandbox"]?["state"]?.GetValue<string>());
            }
            Assert.Equal("""{"runningSandboxes":2,"vcpus":2,"memoryMib":512,"pausedSandboxes":0}""", await UsageAsync(team));
        }
        finally
        {
            await api.GraphQLAsync(team.Key, "mutation ($id: ID!) { destroySandbox(id: $id) }", new { id });
            if (occupant is not null)
                await EndAsync(occupant);
        }
        Assert.Equal("""{"runningSandboxes":0,"vcpus":0,"memoryMib":0,"pausedSandboxes":0}""", await UsageAsync(team));
    }

    [Fact]
    public async Task The_reconciler_settles_holds_against_the_sandbox_records_so_a_crash_leaks_nothing_for_ever()
    {
        var team = await ApiTeam.CreateAsync(api);
        Hold Hold(string sandbox, HoldKind kind) => new(team.Caller.TeamId, sandbox, kind);
        // A create whose silo died between its hold and its record, an hour ago: the sandbox never came to be.
        var neverCreated = $"sb-{Guid.NewGuid():D}";
        await HoldAsync(Hold(neverCreated, HoldKind.Running), TimeSpan.FromHours(1));
        // A create in flight right now: its record is not written yet, and its hold stays.
        var inFlight = $"sb-{Guid.NewGuid():D}";
        await HoldAsync(Hold(inFlight, HoldKind.Running), TimeSpan.Zero);
        // A sandbox that ended while its release was lost.
        var ended = (await team.InsertSandboxAsync(SandboxState.Destroyed)).Id;
        await HoldAsync(Hold(ended, HoldKind.Running), TimeSpan.Zero);
        // A resume that died half way, long ago: the record is paused, the hold says running.
        var halfResumed = await team.InsertSandboxAsync(SandboxState.Paused);
        await HoldAsync(Hold(halfResumed.Id, HoldKind.Running), TimeSpan.FromHours(1));
        // A running sandbox with no hold at all (a database from before quotas).
        var unheld = await team.InsertSandboxAsync(SandboxState.Running);
        try
        {
            await api.Silo.Host.Reconciler.RunOnceAsync(CancellationToken.None);

            // Left: the create in flight and the unheld sandbox running, the half-resumed one paused.
            Assert.Equal("""{"runningSandboxes":2,"vcpus":2,"memoryMib":512,"pausedSandboxes":1}""", await UsageAsync(team));
            Assert.Equal(new[] { halfResumed.Id, inFlight, unheld.Id }.Order(), (await HeldAsync(team)).Order());
        }
        finally
        {
            await EndAsync(halfResumed);
            await EndAsync(unheld);
            foreach (var sandbox in new[] { neverCreated, inFlight, ended })
                await Quotas.ReleaseAsync(sandbox, CancellationToken.None);
        }
    }

    /// <summary>A record this test wrote ends, as its grain would end it: record first, then its hold.</summary>
    private async Task EndAsync(Data.SandboxRecord record)
    {
        var current = await api.Silo.Host.Store.GetAsync(record.Id, CancellationToken.None);
        await api.Silo.Host.Store.UpdateAsync(current! with { State = SandboxState.Destroyed }, CancellationToken.None);
        await Quotas.ReleaseAsync(record.Id, CancellationToken.None);
    }

    private sealed record Hold(string TeamId, string SandboxId, HoldKind Kind);

    /// <summary>A hold as a transition takes it, written <paramref name="ago"/> in the past.</summary>
    private async Task HoldAsync(Hold hold, TimeSpan ago)
    {
        await Quotas.HoldAsync(new SandboxHold(hold.TeamId, hold.SandboxId, hold.Kind, 1, 256), enforce: false, CancellationToken.None);
        await using var connection = new NpgsqlConnection(api.Silo.Host.ConnectionString);
        await connection.OpenAsync();
        await using var backdate = new NpgsqlCommand("UPDATE wrenn_quota_holds SET updated_at = now() - $2 WHERE sandbox_id = $1", connection);
        backdate.Parameters.Add(new() { Value = hold.SandboxId });
        backdate.Parameters.Add(new() { Value = ago });
        await backdate.ExecuteNonQueryAsync();
    }

    private async Task<IReadOnlyList<string>> HeldAsync(ApiTeam team)
    {
        await using var connection = new NpgsqlConnection(api.Silo.Host.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT sandbox_id FROM wrenn_quota_holds WHERE team_id = $1", connection);
        command.Parameters.Add(new() { Value = team.Caller.TeamId });
        var held = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            held.Add(reader.GetString(0));
        return held;
    }

    private async Task<string> CreateAsync(ApiTeam team)
    {
        using var gate = await MachineGate.EnterAsync();
        var (_, created) = await api.GraphQLAsync(team.Key, "mutation { createSandbox(input: {template: \"base\", timeoutSeconds: 900}) { id } }");
        return created["data"]?["createSandbox"]?["id"]?.GetValue<string>() ?? throw new InvalidOperationException($"create: {created.ToJsonString()}");
    }

    private async Task<string> UsageAsync(ApiTeam team)
    {
        var (_, me) = await api.GraphQLAsync(team.Key, "{ me { usage { runningSandboxes vcpus memoryMib pausedSandboxes } } }");
        return me["data"]!["me"]!["usage"]!.ToJsonString();
    }

    private async Task<string?> StateAsync(ApiTeam team, string id)
    {
        var (_, sandbox) = await api.GraphQLAsync(team.Key, "query ($id: ID!) { sandbox(id: $id) { state } }", new { id });
        return sandbox["data"]?["sandbox"]?["state"]?.GetValue<string>();
    }

    private async Task<JsonNode> AdminAsync(string query, object variables)
    {
        var (_, body) = await api.GraphQLAsync(api.AdminKey, query, variables);
        Assert.True(body["errors"] is null, body.ToJsonString());
        return body["data"]!;
    }

    private static string? Code(JsonObject body) => body["errors"]?[0]?["extensions"]?["code"]?.GetValue<string>();

    private static string Message(JsonObject body) => body["errors"]?[0]?["message"]?.GetValue<string>() ?? "";
}
