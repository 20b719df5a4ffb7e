using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Tests.Quotas;

/// <summary>
/// setTeamQuota tells the three cases of each limit apart, as the GraphQL specification does: an
/// argument left out (or given an unset variable) leaves the limit as it is, an explicit null
/// (literal or variable) removes it, a number sets it.
/// </summary>
public sealed class SetTeamQuotaArgumentTests
{
    private const string Team = "team { id }";

    [Fact]
    public async Task An_omitted_limit_is_left_unchanged_and_an_explicit_null_removes_it()
    {
        var change = await ChangeAsync("mutation { setTeamQuota(team: \"t\", maxRunningSandboxes: 3, maxVcpus: null) { id } }");
        Assert.Equal(new QuotaLimitArgument(true, 3), change.MaxRunningSandboxes);
        Assert.Equal(new QuotaLimitArgument(true, null), change.MaxVcpus);
        Assert.Equal(default, change.MaxMemoryMib);
        Assert.Equal(default, change.MaxPausedSandboxes);
    }

    [Fact]
    public async Task A_variable_set_to_null_removes_the_limit_and_an_unset_variable_leaves_it()
    {
        var change = await ChangeAsync(
            "mutation ($running: Int, $vcpus: Int, $memory: Int) { setTeamQuota(team: \"t\", maxRunningSandboxes: $running, maxVcpus: $vcpus, maxMemoryMib: $memory) { id } }",
            """{ "running": null, "memory": 2048 }""");
        Assert.Equal(new QuotaLimitArgument(true, null), change.MaxRunningSandboxes);
        Assert.Equal(default, change.MaxVcpus);
        Assert.Equal(new QuotaLimitArgument(true, 2048), change.MaxMemoryMib);
        Assert.Equal(default, change.MaxPausedSandboxes);
    }

    private static async Task<TeamQuotaChange> ChangeAsync(string query, string? variables = null)
    {
        using var api = new ApiServices();
        var backend = new QuotaRecordingBackend();
        var result = await api.RunAsync(query, backend, variables);
        Assert.False(result.TryGetProperty("errors", out var errors), errors.ToString());
        return backend.Change ?? throw new InvalidOperationException("setTeamQuota did not reach the backend");
    }

    private sealed class QuotaRecordingBackend : UnreachableBackend
    {
        public TeamQuotaChange? Change { get; private set; }

        public override Task<TeamInfo> SetTeamQuotaAsync(Caller caller, string team, TeamQuotaChange change, CancellationToken cancellationToken)
        {
            Change = change;
            return Task.FromResult(new TeamInfo("team-t", team, DateTimeOffset.UnixEpoch));
        }
    }
}
