using System.Text.Json.Nodes;

namespace Wrenn.Silo.Tests.Api;

/// <summary>
/// The process table is guest memory: a process started before a pause is frozen with the guest and
/// runs on after the resume and in every child of a template, and can be attached to again. A pause
/// waits for running execs, not for it; open subscriptions complete when their sandbox pauses or is destroyed.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class ProcessPauseApiTests(ApiFixture api)
{
    private const string ProcessOutput = "subscription ($id: ID!, $pid: Int!) { processOutput(sandboxId: $id, pid: $pid) { type data encoding exitCode } }";

    /// <summary>The counter's numbers shown so far.</summary>
    private static List<int> Numbers(ProcessOutputText text) =>
        text.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();

    private async Task<JsonNode?> ListedAsync(string id, int pid) =>
        (await api.DataAsync("query ($id: ID!) { processes(sandboxId: $id) { pid tag exitCode } }", new { id }))["processes"]!.AsArray()
            .FirstOrDefault(p => p!["pid"]!.GetValue<int>() == pid);

    [Fact]
    public async Task A_pause_waits_for_execs_not_processes_which_run_on_after_the_resume_and_in_a_template_child()
    {
        var id = await api.CreateSandboxAsync();
        string? childId = null;
        var template = $"proc-{Guid.NewGuid():N}"[..16];
        try
        {
            var pid = (await api.DataAsync("mutation ($id: ID!) { startProcess(sandboxId: $id, command: \"sh\", args: [\"-c\", \"i=0; while :; do i=$((i+1)); echo $i; sleep 0.2; done\"], tag: \"counter\") { pid } }",
                new { id }))["startProcess"]!["pid"]!.GetValue<int>();
            var output = await ApiSubscription.StartAsync(api, id, "processOutput", ProcessOutput, new { id, pid });
            var watch = await ApiSubscription.StartAsync(api, id, "watchDir", "subscription ($id: ID!) { watchDir(sandboxId: $id, path: \"/tmp\") { type path } }", new { id });
            var counted = new ProcessOutputText(output);
            await counted.UntilAsync(t => Numbers(t).Count >= 3);

            // A pause waits for a running exec (it ends as it would have) but not for the process, which never ends
            // by itself; it completes both subscriptions.
            await using var exec = await ApiSubscription.StartAsync(api, id, "execStream",
                "subscription ($id: ID!) { execStream(sandboxId: $id, command: \"sh\", args: [\"-c\", \"echo started; sleep 2; echo done\"]) { type data exitCode } }", new { id });
            await exec.UntilAsync(e => e["data"]?.GetValue<string>() == "started\n");
            var pausing = api.DataAsync("mutation ($id: ID!) { pauseSandbox(id: $id) { state } }", new { id });
            var rest = await exec.UntilCompleteAsync();
            Assert.Equal("done\n|EXIT 0", string.Join("|", rest.Select(e => e["type"]!.GetValue<string>() == "EXIT" ? $"EXIT {e["exitCode"]}" : e["data"]!.GetValue<string>())));
            var paused = await pausing;
            Assert.Equal("PAUSED", paused["pauseSandbox"]!["state"]!.GetValue<string>());
            await output.UntilCompleteAsync(TimeSpan.FromSeconds(60));
            await watch.UntilCompleteAsync(TimeSpan.FromSeconds(60));
            Assert.True(output.Completed && watch.Completed);
            await output.DisposeAsync();
            await watch.DisposeAsync();
            var beforePause = Numbers(counted).Max();

            await api.DataAsync("mutation ($id: ID!) { resumeSandbox(id: $id) { state } }", new { id });
            Assert.Equal(("counter", (int?)null), ((await ListedAsync(id, pid))!["tag"]!.GetValue<string>(), (await ListedAsync(id, pid))!["exitCode"]?.GetValue<int>()));
            await using (var again = await ApiSubscription.StartAsync(api, id, "processOutput", ProcessOutput, new { id, pid }))
            {
                // Attached again: what it printed before the pause (retained), then numbers it counted after.
                var resumed = new ProcessOutputText(again);
                await resumed.UntilAsync(t => Numbers(t).Count > 0 && Numbers(t).Max() > beforePause + 2);
                Assert.Equal(1, Numbers(resumed)[0]);
                Assert.Equal(Enumerable.Range(1, Numbers(resumed).Count), Numbers(resumed)); // nothing lost, nothing twice
            }

            // A template made from it carries the process into every child.
            await api.DataAsync("mutation ($id: ID!, $name: String!) { createTemplateFromSandbox(sandboxId: $id, name: $name) { name } }", new { id, name = template });
            childId = await api.CreateSandboxAsync(template);
            Assert.Equal("counter", (await ListedAsync(childId, pid))?["tag"]?.GetValue<string>());
            var inChild = await ApiSubscription.StartAsync(api, childId, "processOutput", ProcessOutput, new { id = childId, pid });
            var childCount = new ProcessOutputText(inChild);
            await childCount.UntilAsync(t => Numbers(t).Count > 0 && Numbers(t).Max() > beforePause + 4);

            // Destroying the child ends its subscription too.
            await api.DataAsync("mutation ($id: ID!) { destroySandbox(id: $id) }", new { id = childId });
            await inChild.UntilCompleteAsync(TimeSpan.FromSeconds(60));
            Assert.True(inChild.Completed);
            await inChild.DisposeAsync();
        }
        finally
        {
            if (childId is not null)
                await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { destroySandbox(id: $id) }", new { id = childId });
            await api.GraphQLAsync(api.AdminKey, "mutation ($n: String!) { deleteTemplate(name: $n) }", new { n = template });
            await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { destroySandbox(id: $id) }", new { id });
        }
    }
}
