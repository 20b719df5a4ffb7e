using Xunit.Abstractions;

namespace Wrenn.Silo.Tests.Api.Adversarial;

/// <summary>
/// Team isolation checked by walking the schema rather than field by field: every query, mutation and
/// subscription that names a thing is aimed by team B at team A's, and a field added tomorrow is aimed
/// (or fails the walk) without anyone writing a test for it.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class CrossTeamWalkTests(ApiFixture api, ITestOutputHelper output)
{
    [Fact]
    public async Task Every_field_another_team_aims_at_a_teams_things_is_refused_and_changes_nothing()
    {
        var victim = await TeamResources.SeedAsync(api);
        try
        {
            var attacker = await ApiTeam.CreateAsync(api);
            var before = await victim.StateAsync();
            Assert.Contains(TeamResources.MarkerContent, before);

            var report = await new CrossTeamWalk(api.BaseAddress, attacker.Key, victim).RunAsync();

            Print(report);
            Assert.True(report.Findings.Count == 0, "team B reached team A's things, or the walk could not aim a field:\n" + string.Join("\n", report.Findings));
            Assert.Equal(before, await victim.StateAsync());
            // Not vacuous: the walk did aim the fields that name each kind of thing.
            foreach (var field in new[] { "Query.sandbox", "Query.readFile", "Query.team", "Subscription.execStream", "Subscription.sandboxEvents",
                         "Mutation.exec", "Mutation.signalProcess", "Mutation.sendInput", "Subscription.processOutput", "Mutation.createSandbox", "Mutation.setTeamQuota", "Mutation.createApiKey", "Mutation.deleteTemplate", "Mutation.revokeApiKey", "Mutation.destroySandbox" })
                Assert.Contains(report.Calls, c => c.StartsWith(field + " ", StringComparison.Ordinal));
        }
        finally
        {
            await victim.DestroyAsync();
        }
    }

    [Fact]
    public async Task The_walk_fails_on_a_field_that_skips_its_team_check_and_on_a_reference_it_cannot_fill()
    {
        var victim = await TeamResources.SeedWithoutVmAsync(api);
        var attacker = await ApiTeam.CreateAsync(api);
        await using var broken = await BrokenApi.StartAsync(api);

        var report = await new CrossTeamWalk(broken.BaseAddress, attacker.Key, victim).RunAsync();

        Print(report);
        Assert.Contains(report.Findings, f => f.Field == "Query.peekSandbox"
            && (f.Problem.Contains("answered with data", StringComparison.Ordinal) || f.Problem.Contains("handed the thing out", StringComparison.Ordinal)));
        Assert.Contains(report.Findings, f => f.Field == "Query.gizmo" && f.Problem.Contains("cannot fill", StringComparison.Ordinal));
        Assert.Equal(["Query.gizmo", "Query.peekSandbox"], report.Findings.Select(f => f.Field).Distinct().Order());
    }

    private void Print(WalkReport report)
    {
        foreach (var call in report.Calls)
            output.WriteLine(call);
        foreach (var field in report.NotAimed)
            output.WriteLine($"{field}: names nothing, not aimed");
        foreach (var finding in report.Findings)
            output.WriteLine($"FINDING {finding}");
    }
}
