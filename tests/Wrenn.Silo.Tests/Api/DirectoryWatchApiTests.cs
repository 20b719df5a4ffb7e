using System.Text.Json.Nodes;

namespace Wrenn.Silo.Tests.Api;

/// <summary>watchDir through GraphQL on a real VM (the shared sandbox): inotify in the agent, ended with the subscription.</summary>
[Collection(ApiCollection.Name)]
public sealed class DirectoryWatchApiTests(ApiFixture api)
{
    private const string WatchDir = "subscription ($id: ID!, $path: String!, $recursive: Boolean) { watchDir(sandboxId: $id, path: $path, recursive: $recursive) { type path oldPath isDirectory } }";

    private async Task ShAsync(string id, string script)
    {
        var result = (await api.DataAsync("mutation ($id: ID!, $s: String!) { exec(sandboxId: $id, command: \"sh\", args: [\"-c\", $s]) { exitCode stderr } }", new { id, s = script }))["exec"]!;
        Assert.True(result["exitCode"]!.GetValue<int>() == 0, $"{script}: {result["stderr"]}");
    }

    /// <summary>The inotify watches the guest's agent holds now (its inotify fds' `inotify wd:` lines).</summary>
    private async Task<int> AgentWatchesAsync(string id)
    {
        var count = (await api.DataAsync("mutation ($id: ID!) { exec(sandboxId: $id, command: \"sh\", args: [\"-c\", \"cat /proc/$(pidof wrenn-agent)/fdinfo/* 2>/dev/null | grep -c '^inotify wd:' || true\"]) { stdout } }", new { id }))["exec"]!["stdout"]!.GetValue<string>();
        return int.Parse(count.Trim());
    }

    /// <summary>
    /// graphql-transport-ws does not say when a watch is in place: marker files are made until the watch
    /// reports one; from then on every change is seen.
    /// </summary>
    private async Task WaitUntilWatchingAsync(string id, string folder, ApiSubscription watch)
    {
        for (var attempt = 0; attempt < 60; attempt++)
        {
            await ShAsync(id, $"touch {folder}/.ready-{attempt}");
            try
            {
                await watch.UntilAsync(e => e["path"]!.GetValue<string>().StartsWith($"{folder}/.ready-", StringComparison.Ordinal), TimeSpan.FromSeconds(1));
                return;
            }
            catch (Xunit.Sdk.XunitException) when (!watch.Completed && attempt < 59)
            {
                // Not watching yet (or the event is still on its way): another marker.
            }
        }
    }

    [Fact]
    public async Task A_recursive_watch_reports_new_folders_writes_renames_and_removals_and_leaves_no_watch_behind()
    {
        var id = await api.SharedSandboxAsync();
        var root = $"/tmp/watch-{Guid.NewGuid():N}"[..20];
        await ShAsync(id, $"mkdir -p {root}");
        // Nobody watches yet: the agent holds no inotify watch (not even one on its own configuration).
        var before = await AgentWatchesAsync(id);
        Assert.Equal(0, before);
        var watch = await ApiSubscription.StartAsync(api, id, "watchDir", WatchDir, new { id, path = root, recursive = true });
        try
        {
            await WaitUntilWatchingAsync(id, root, watch);
            // One step at a time: a folder's watch is added when its CREATE is reported, so what is made in it comes after.
            var events = new List<JsonObject>();
            async Task StepAsync(string script, string type, string path)
            {
                await ShAsync(id, script);
                events.AddRange(await watch.UntilAsync(e => e["type"]!.GetValue<string>() == type && e["path"]!.GetValue<string>() == path));
            }
            await StepAsync($"mkdir -p {root}/a/b", "CREATE", $"{root}/a/b");
            Assert.Equal(3, await AgentWatchesAsync(id)); // the root, a and a/b
            await StepAsync($"echo hi > {root}/a/b/f.txt", "WRITE", $"{root}/a/b/f.txt");
            await StepAsync($"mv {root}/a/b/f.txt {root}/a/g.txt", "RENAME", $"{root}/a/g.txt");
            await StepAsync($"chmod 600 {root}/a/g.txt", "CHMOD", $"{root}/a/g.txt");
            await StepAsync($"rm {root}/a/g.txt", "REMOVE", $"{root}/a/g.txt");
            string Line(JsonObject e) => $"{e["type"]} {e["path"]} {e["oldPath"]?.GetValue<string>() ?? "-"} {(e["isDirectory"]!.GetValue<bool>() ? "dir" : "file")}";
            var lines = events.Where(e => !e["path"]!.GetValue<string>().Contains("/.ready-")).Select(Line).Distinct().ToList();
            Assert.Equal(new[]
            {
                $"CREATE {root}/a - dir",
                $"CREATE {root}/a/b - dir",
                $"CREATE {root}/a/b/f.txt - file",
                $"WRITE {root}/a/b/f.txt - file",
                $"RENAME {root}/a/g.txt {root}/a/b/f.txt file",
                $"CHMOD {root}/a/g.txt - file",
                $"REMOVE {root}/a/g.txt - file",
            }, lines);
        }
        finally
        {
            await watch.CompleteAsync();
            await watch.DisposeAsync();
        }

        // Closing the subscription ends the agent's call, which closes its inotify instance.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        int now;
        while ((now = await AgentWatchesAsync(id)) > before && DateTime.UtcNow < deadline)
            await Task.Delay(200);
        Assert.Equal(before, now);
        await ShAsync(id, $"rm -rf {root}");
    }

    [Fact]
    public async Task A_watch_of_a_missing_folder_or_of_a_file_is_bad_user_input()
    {
        var id = await api.SharedSandboxAsync();
        await using (var missing = await ApiSubscription.StartAsync(api, id, "watchDir", WatchDir, new { id, path = "/no/such/folder", recursive = false }))
        {
            var (code, message) = await missing.ErrorAsync();
            Assert.Equal("BAD_USER_INPUT", code);
            Assert.Contains("/no/such/folder", message);
        }
        await using var file = await ApiSubscription.StartAsync(api, id, "watchDir", WatchDir, new { id, path = "/etc/hostname", recursive = false });
        Assert.Equal("BAD_USER_INPUT", (await file.ErrorAsync()).Code);
    }
}
