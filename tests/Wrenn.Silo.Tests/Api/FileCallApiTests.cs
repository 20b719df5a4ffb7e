namespace Wrenn.Silo.Tests.Api;

/// <summary>makeDir, movePath, removePath and stat through GraphQL on a real VM (the shared sandbox), with the API's error codes.</summary>
[Collection(ApiCollection.Name)]
public sealed class FileCallApiTests(ApiFixture api)
{
    private const string Stat = "query ($id: ID!, $path: String!) { stat(sandboxId: $id, path: $path) { path name isDirectory size } }";

    [Fact]
    public async Task Folders_are_made_moved_looked_up_and_removed_and_bad_paths_get_the_API_error_codes()
    {
        var id = await api.SharedSandboxAsync();
        var root = $"/tmp/files-{Guid.NewGuid():N}"[..20];

        var made = (await api.DataAsync("mutation ($id: ID!, $p: String!) { makeDir(sandboxId: $id, path: $p) { path name isDirectory } }", new { id, p = $"{root}/a/b" }))["makeDir"]!;
        Assert.Equal($$"""{"path":"{{root}}/a/b","name":"b","isDirectory":true}""", made.ToJsonString());
        // Again: an existing folder is fine.
        await api.DataAsync("mutation ($id: ID!, $p: String!) { makeDir(sandboxId: $id, path: $p) { path } }", new { id, p = $"{root}/a/b" });
        await api.DataAsync("mutation ($id: ID!, $p: String!) { writeFile(sandboxId: $id, path: $p, content: \"12345\") { size } }", new { id, p = $"{root}/a/b/f.txt" });

        var stat = (await api.DataAsync(Stat, new { id, path = $"{root}/a/b/f.txt" }))["stat"]!;
        Assert.Equal($$"""{"path":"{{root}}/a/b/f.txt","name":"f.txt","isDirectory":false,"size":5}""", stat.ToJsonString());
        Assert.Null((await api.DataAsync(Stat, new { id, path = $"{root}/nothing" }))["stat"]);

        var moved = (await api.DataAsync("mutation ($id: ID!, $f: String!, $t: String!) { movePath(sandboxId: $id, from: $f, to: $t) { path isDirectory } }", new { id, f = $"{root}/a/b", t = $"{root}/c" }))["movePath"]!;
        Assert.Equal($$"""{"path":"{{root}}/c","isDirectory":true}""", moved.ToJsonString());
        Assert.NotNull((await api.DataAsync(Stat, new { id, path = $"{root}/c/f.txt" }))["stat"]);
        Assert.Null((await api.DataAsync(Stat, new { id, path = $"{root}/a/b" }))["stat"]);

        const string Move = "mutation ($id: ID!, $f: String!, $t: String!) { movePath(sandboxId: $id, from: $f, to: $t) { path } }";
        const string Remove = "mutation ($id: ID!, $p: String!, $r: Boolean) { removePath(sandboxId: $id, path: $p, recursive: $r) }";
        var (code, message) = await api.ErrorAsync(Move, new { id, f = $"{root}/a", t = $"{root}/c" });
        Assert.Equal("BAD_USER_INPUT", code); // an existing target is not replaced
        Assert.Contains("exists", message);
        (code, message) = await api.ErrorAsync(Move, new { id, f = $"{root}/nothing", t = $"{root}/d" });
        Assert.Equal("NOT_FOUND", code);
        Assert.Contains($"{root}/nothing", message);
        (code, _) = await api.ErrorAsync(Remove, new { id, p = $"{root}/c", r = false });
        Assert.Equal("BAD_USER_INPUT", code); // not empty
        Assert.NotNull((await api.DataAsync(Stat, new { id, path = $"{root}/c/f.txt" }))["stat"]); // and nothing was removed
        (code, _) = await api.ErrorAsync(Remove, new { id, p = $"{root}/nothing", r = false });
        Assert.Equal("NOT_FOUND", code);
        (code, _) = await api.ErrorAsync("mutation ($id: ID!) { makeDir(sandboxId: $id, path: \"relative/path\") { path } }", new { id });
        Assert.Equal("BAD_USER_INPUT", code);
        (code, _) = await api.ErrorAsync("mutation ($id: ID!) { makeDir(sandboxId: $id, path: \"/etc/hostname\") { path } }", new { id });
        Assert.Equal("BAD_USER_INPUT", code); // a file is there
        (code, _) = await api.ErrorAsync(Stat, new { id, path = "relative" });
        Assert.Equal("BAD_USER_INPUT", code);

        Assert.True((await api.DataAsync(Remove, new { id, p = $"{root}/c", r = true }))["removePath"]!.GetValue<bool>());
        Assert.True((await api.DataAsync(Remove, new { id, p = root, r = true }))["removePath"]!.GetValue<bool>());
        Assert.Null((await api.DataAsync(Stat, new { id, path = root }))["stat"]);
    }

    [Fact]
    public async Task Another_team_cannot_reach_the_file_and_process_calls_of_a_sandbox()
    {
        var id = await api.SharedSandboxAsync();
        var team = await ApiTeam.CreateAsync(api);
        foreach (var query in new[]
        {
            "query ($id: ID!) { stat(sandboxId: $id, path: \"/etc/hostname\") { path } }",
            "query ($id: ID!) { processes(sandboxId: $id) { pid } }",
            "mutation ($id: ID!) { makeDir(sandboxId: $id, path: \"/tmp/theirs\") { path } }",
            "mutation ($id: ID!) { startProcess(sandboxId: $id, command: \"true\") { pid } }",
            "mutation ($id: ID!) { signalProcess(sandboxId: $id, pid: 2, signal: KILL) }",
        })
        {
            var (_, body) = await api.GraphQLAsync(team.Key, query, new { id });
            Assert.Equal("NOT_FOUND", body["errors"]?[0]?["extensions"]?["code"]?.GetValue<string>());
        }
    }
}
