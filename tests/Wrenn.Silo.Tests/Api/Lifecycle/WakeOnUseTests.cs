using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Wrenn.Silo.Tests.Api.Lifecycle;

/// <summary>
/// autoResume on real VMs: a call that needs the VM wakes a paused sandbox and then succeeds, one
/// wake for any number of concurrent calls; without autoResume it is FAILED_PRECONDITION saying how
/// to resume; a wake past the team's quota is RESOURCE_EXHAUSTED and leaves it paused.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class WakeOnUseTests(ApiFixture api)
{
    private readonly LifecycleApi _sandboxes = new(api);

    [Fact]
    public async Task Concurrent_calls_on_a_paused_sandbox_with_autoResume_wake_it_once_and_all_succeed()
    {
        var id = await _sandboxes.CreateAsync("autoResume: true");
        try
        {
            await api.DataAsync("mutation ($id: ID!) { writeFile(sandboxId: $id, path: \"/root/kept\", content: \"still here\") { size } }", new { id });
            await api.DataAsync("mutation ($id: ID!) { pauseSandbox(id: $id) { state } }", new { id });
            Assert.Equal("USER", (await _sandboxes.GetAsync(id))["pausedReason"]!.GetValue<string>());

            // Execs, a file read, a listing and the /files endpoint at once: every one needs the VM.
            var calls = new List<Task<string>>();
            for (var i = 0; i < 4; i++)
            {
                var n = i;
                calls.Add(Task.Run(async () => (await _sandboxes.ExecAsync(id, "echo", $"call {n}"))["stdout"]!.GetValue<string>()));
            }
            calls.Add(Task.Run(async () => (await api.DataAsync("query ($id: ID!) { readFile(sandboxId: $id, path: \"/root/kept\") { content } }", new { id }))["readFile"]!["content"]!.GetValue<string>()));
            calls.Add(Task.Run(async () => (await api.DataAsync("query ($id: ID!) { listDir(sandboxId: $id, path: \"/root\") { name } }", new { id }))["listDir"]!.AsArray()
                .Any(e => e!["name"]!.GetValue<string>() == "kept") ? "listed" : "missing"));
            calls.Add(Task.Run(async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(api.BaseAddress, $"/files/{id}?path=/root/kept"));
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", api.AdminKey);
                using var response = await api.Http.SendAsync(request);
                return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }));
            var answers = await Task.WhenAll(calls);

            Assert.Equal(["call 0\n", "call 1\n", "call 2\n", "call 3\n", "still here", "listed", "200 still here"], answers);
            Assert.Equal("RUNNING", LifecycleApi.State(await _sandboxes.GetAsync(id)));
            Assert.Null((await _sandboxes.GetAsync(id))["pausedReason"]);
            Assert.Equal(1, await _sandboxes.AuditedAsync(id, "sandbox.wake"));
            Assert.Equal(0, await _sandboxes.AuditedAsync(id, "sandbox.resume")); // no call resumed it but the wake
        }
        finally
        {
            await _sandboxes.DestroyAsync(id);
        }
    }

    [Fact]
    public async Task Without_autoResume_a_call_on_a_paused_sandbox_is_FAILED_PRECONDITION_saying_how_to_resume()
    {
        var id = await _sandboxes.CreateAsync("autoResume: false");
        try
        {
            await api.DataAsync("mutation ($id: ID!) { pauseSandbox(id: $id) { state } }", new { id });
            var (code, message) = await api.ErrorAsync("mutation ($id: ID!) { exec(sandboxId: $id, command: \"true\") { exitCode } }", new { id });
            Assert.Equal("FAILED_PRECONDITION", code);
            Assert.Contains("resumeSandbox", message);
            Assert.Contains("autoResume", message);
            var (fileCode, _) = await api.ErrorAsync("query ($id: ID!) { readFile(sandboxId: $id, path: \"/etc/hostname\") { content } }", new { id });
            Assert.Equal("FAILED_PRECONDITION", fileCode);
            Assert.Equal("PAUSED", LifecycleApi.State(await _sandboxes.GetAsync(id)));
            Assert.Equal(0, await _sandboxes.AuditedAsync(id, "sandbox.wake"));

            // Turned on while paused, the next call wakes it.
            await api.DataAsync("mutation ($id: ID!) { updateSandboxLifecycle(id: $id, autoResume: true) { id } }", new { id });
            Assert.Equal("woken\n", (await _sandboxes.ExecAsync(id, "echo", "woken"))["stdout"]!.GetValue<string>());
        }
        finally
        {
            await _sandboxes.DestroyAsync(id);
        }
    }

    [Fact]
    public async Task A_wake_past_the_team_quota_is_RESOURCE_EXHAUSTED_and_it_stays_paused()
    {
        var team = await ApiTeam.CreateAsync(api);
        var id = await _sandboxes.CreateAsync("autoResume: true", key: team.Key);
        try
        {
            Assert.True((await api.GraphQLAsync(team.Key, "mutation ($id: ID!) { pauseSandbox(id: $id) { state } }", new { id })).Body["errors"] is null);
            await api.DataAsync("mutation ($t: String!) { setTeamQuota(team: $t, maxRunningSandboxes: 0) { id } }", new { t = team.Caller.TeamId });

            var (_, refused) = await api.GraphQLAsync(team.Key, "mutation ($id: ID!) { exec(sandboxId: $id, command: \"true\") { exitCode } }", new { id });
            Assert.Equal("RESOURCE_EXHAUSTED", refused["errors"]?[0]?["extensions"]?["code"]?.GetValue<string>());
            Assert.Contains("maxRunningSandboxes", refused["errors"]![0]!["message"]!.GetValue<string>());
            var (_, state) = await api.GraphQLAsync(team.Key, "query ($id: ID!) { sandbox(id: $id) { state pausedReason } }", new { id });
            Assert.Equal("""{"state":"PAUSED","pausedReason":"USER"}""", state["data"]!["sandbox"]!.ToJsonString());

            // Room again: the same call wakes it.
            await api.DataAsync("mutation ($t: String!) { setTeamQuota(team: $t, maxRunningSandboxes: null) { id } }", new { t = team.Caller.TeamId });
            var (_, woken) = await api.GraphQLAsync(team.Key, "mutation ($id: ID!) { exec(sandboxId: $id, command: \"echo\", args: [\"up\"]) { stdout } }", new { id });
            Assert.Equal("up\n", woken["data"]?["exec"]?["stdout"]?.GetValue<string>());
        }
        finally
        {
            await _sandboxes.DestroyAsync(id, team.Key);
        }
    }
}
