using System.Text;
using System.Text.Json.Nodes;

namespace Wrenn.Silo.Tests.Api;

/// <summary>
/// Processes that outlive a call, through GraphQL on a real VM (one sandbox shared with the other API
/// classes): terminals, stdin, attaching (several subscribers, retained output), signals, and bad input.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class ProcessApiTests(ApiFixture api)
{
    private const string StartProcess =
        "mutation ($id: ID!, $command: String!, $args: [String!], $pty: PtyInput, $tag: String) " +
        "{ startProcess(sandboxId: $id, command: $command, args: $args, pty: $pty, tag: $tag) { pid tag command args pty startedAt exitCode } }";

    private const string ProcessOutput = "subscription ($id: ID!, $pid: Int!) { processOutput(sandboxId: $id, pid: $pid) { type data encoding exitCode } }";

    private const string SendInput = "mutation ($id: ID!, $pid: Int!, $data: String!, $encoding: FileEncoding) { sendInput(sandboxId: $id, pid: $pid, data: $data, encoding: $encoding) }";

    private async Task<JsonNode> StartAsync(string id, string command, string[]? args = null, object? pty = null, string? tag = null) =>
        (await api.DataAsync(StartProcess, new { id, command, args, pty, tag }))["startProcess"]!;

    private Task<ApiSubscription> AttachAsync(string id, int pid) => ApiSubscription.StartAsync(api, id, "processOutput", ProcessOutput, new { id, pid });

    private Task TypeAsync(string id, int pid, string text) => api.DataAsync(SendInput, new { id, pid, data = text });

    private async Task<JsonNode?> ListedAsync(string id, int pid) =>
        (await api.DataAsync("query ($id: ID!) { processes(sandboxId: $id) { pid tag pty exitCode } }", new { id }))["processes"]!.AsArray()
            .FirstOrDefault(p => p!["pid"]!.GetValue<int>() == pid);

    [Fact]
    public async Task A_shell_on_a_pty_runs_typed_commands_and_follows_resizes()
    {
        var id = await api.SharedSandboxAsync();
        var shell = await StartAsync(id, "bash", pty: new { cols = 80, rows = 24 }, tag: "term");
        var pid = shell["pid"]!.GetValue<int>();
        Assert.Equal(("term", true, "bash", (int?)null), (shell["tag"]!.GetValue<string>(), shell["pty"]!.GetValue<bool>(), shell["command"]!.GetValue<string>(), shell["exitCode"]?.GetValue<int>()));
        await using var output = await AttachAsync(id, pid);
        var terminal = new ProcessOutputText(output);

        await TypeAsync(id, pid, "echo $((6*7))\n");
        await terminal.UntilAsync(t => t.PtyLines.Contains("42")); // the answer on a line of its own, not the typed line
        await TypeAsync(id, pid, "tty; stty size; echo $TERM\n");
        await terminal.UntilAsync(t => t.Pty.Contains("24 80") && t.Pty.Contains("xterm-256color"));
        Assert.Contains("/dev/pts/", terminal.Pty);

        Assert.True((await api.DataAsync("mutation ($id: ID!, $pid: Int!) { resizeTerminal(sandboxId: $id, pid: $pid, cols: 100, rows: 30) }", new { id, pid }))["resizeTerminal"]!.GetValue<bool>());
        await TypeAsync(id, pid, "stty size\n");
        await terminal.UntilAsync(t => t.Pty.Contains("30 100"));

        await TypeAsync(id, pid, "exit 3\n");
        Assert.Equal(3, await terminal.ExitAsync());
        Assert.Equal(3, (await ListedAsync(id, pid))?["exitCode"]?.GetValue<int>());
    }

    [Fact]
    public async Task Exec_and_execStream_take_stdin_and_a_started_process_reads_input_until_it_is_closed()
    {
        var id = await api.SharedSandboxAsync();
        var exec = await api.DataAsync("mutation ($id: ID!) { exec(sandboxId: $id, command: \"cat\", stdin: \"héllo\\nwörld\\n\") { exitCode stdout } }", new { id });
        Assert.Equal("""{"exitCode":0,"stdout":"héllo\nwörld\n"}""", exec["exec"]!.ToJsonString(new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        var noStdin = await api.DataAsync("mutation ($id: ID!) { exec(sandboxId: $id, command: \"cat\") { exitCode stdout } }", new { id });
        Assert.Equal("""{"exitCode":0,"stdout":""}""", noStdin["exec"]!.ToJsonString()); // the input is closed: cat ends at once

        await using (var stream = await ApiSubscription.StartAsync(api, id, "execStream",
            "subscription ($id: ID!) { execStream(sandboxId: $id, command: \"wc\", args: [\"-c\"], stdin: \"abc\") { type data exitCode } }", new { id }))
        {
            var events = await stream.UntilCompleteAsync();
            Assert.Equal("""[{"type":"STDOUT","data":"3\n","exitCode":null},{"type":"EXIT","data":null,"exitCode":0}]""", new JsonArray([.. events.Select(e => e.DeepClone())]).ToJsonString());
        }

        var cat = await StartAsync(id, "cat");
        var pid = cat["pid"]!.GetValue<int>();
        Assert.False(cat["pty"]!.GetValue<bool>());
        await using var output = await AttachAsync(id, pid);
        var text = new ProcessOutputText(output);
        await TypeAsync(id, pid, "one\n");
        await text.UntilAsync(t => t.Stdout == "one\n");
        await api.DataAsync(SendInput, new { id, pid, data = Convert.ToBase64String(Encoding.UTF8.GetBytes("two\n")), encoding = "BASE64" });
        await text.UntilAsync(t => t.Stdout == "one\ntwo\n");
        Assert.True((await api.DataAsync("mutation ($id: ID!, $pid: Int!) { closeInput(sandboxId: $id, pid: $pid) }", new { id, pid }))["closeInput"]!.GetValue<bool>());
        Assert.Equal(0, await text.ExitAsync());
        Assert.Null(await output.NextAsync()); // then the subscription completes
    }

    [Fact]
    public async Task Several_subscribers_see_the_output_closing_one_never_stops_the_process_and_a_late_one_gets_the_retained_output_first()
    {
        var id = await api.SharedSandboxAsync();
        var pid = (await StartAsync(id, "cat", tag: "shared"))["pid"]!.GetValue<int>();
        var first = await AttachAsync(id, pid);
        await using var second = await AttachAsync(id, pid);
        var firstText = new ProcessOutputText(first);
        var secondText = new ProcessOutputText(second);

        await TypeAsync(id, pid, "alpha\n");
        await firstText.UntilAsync(t => t.Stdout.Contains("alpha\n"));
        await secondText.UntilAsync(t => t.Stdout.Contains("alpha\n"));

        // The first subscriber leaves: the process goes on and the second one still hears it.
        await first.CompleteAsync();
        await first.DisposeAsync();
        await TypeAsync(id, pid, "beta\n");
        await secondText.UntilAsync(t => t.Stdout.Contains("beta\n"));
        Assert.Null((await ListedAsync(id, pid))!["exitCode"]);

        // One attaching now first gets what the process said before.
        await using var late = await AttachAsync(id, pid);
        var lateText = new ProcessOutputText(late);
        await lateText.UntilAsync(t => t.Stdout == "alpha\nbeta\n");
        await TypeAsync(id, pid, "gamma\n");
        await lateText.UntilAsync(t => t.Stdout == "alpha\nbeta\ngamma\n");

        await api.DataAsync("mutation ($id: ID!, $pid: Int!) { closeInput(sandboxId: $id, pid: $pid) }", new { id, pid });
        Assert.Equal((0, 0), (await secondText.ExitAsync(), await lateText.ExitAsync()));
        Assert.Equal("alpha\nbeta\ngamma\n", secondText.Stdout);

        // An ended process (listed for 10 minutes) still replays its output, then its exit.
        await using var afterExit = await AttachAsync(id, pid);
        var replay = new ProcessOutputText(afterExit);
        Assert.Equal(0, await replay.ExitAsync());
        Assert.Equal("alpha\nbeta\ngamma\n", replay.Stdout);
    }

    [Fact]
    public async Task Signals_reach_the_process_group_and_its_exit_says_which_one_ended_it()
    {
        var id = await api.SharedSandboxAsync();
        var pid = (await StartAsync(id, "sh", ["-c", "trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.1; done"]))["pid"]!.GetValue<int>();
        await using var output = await AttachAsync(id, pid);
        var text = new ProcessOutputText(output);
        await text.UntilAsync(t => t.Stdout.Contains("ready\n"));

        async Task SignalAsync(string signal) =>
            Assert.True((await api.DataAsync("mutation ($id: ID!, $pid: Int!, $s: Signal!) { signalProcess(sandboxId: $id, pid: $pid, signal: $s) }", new { id, pid, s = signal }))["signalProcess"]!.GetValue<bool>());
        async Task<string> StateAsync() =>
            (await api.DataAsync("mutation ($id: ID!, $pid: String!) { exec(sandboxId: $id, command: \"ps\", args: [\"-o\", \"stat=\", \"-p\", $pid]) { stdout } }", new { id, pid = pid.ToString() }))["exec"]!["stdout"]!.GetValue<string>().Trim();

        await SignalAsync("USR1");
        await text.UntilAsync(t => t.Stdout.Contains("got-usr1\n"));
        await SignalAsync("STOP");
        Assert.StartsWith("T", await StateAsync());
        await SignalAsync("CONT");
        Assert.DoesNotContain("T", await StateAsync());
        await SignalAsync("TERM");
        Assert.Equal(128 + 15, await text.ExitAsync());
        Assert.Equal(143, (await ListedAsync(id, pid))!["exitCode"]!.GetValue<int>());
    }

    [Fact]
    public async Task Bad_input_gets_clear_errors_and_changes_nothing()
    {
        var id = await api.SharedSandboxAsync();
        const int Unknown = 4_000_000; // above the kernel's pid_max: never a pid the agent started
        var ended = (await StartAsync(id, "true"))["pid"]!.GetValue<int>();
        var pipe = (await StartAsync(id, "cat"))["pid"]!.GetValue<int>();
        var terminal = (await StartAsync(id, "bash", pty: new { cols = 80, rows = 24 }))["pid"]!.GetValue<int>();
        while ((await ListedAsync(id, ended))?["exitCode"] is null)
            await Task.Delay(100);

        var (code, message) = await api.ErrorAsync(SendInput, new { id, pid = ended, data = "late\n" });
        Assert.Equal("FAILED_PRECONDITION", code);
        Assert.Contains("has exited", message);
        (code, message) = await api.ErrorAsync(SendInput, new { id, pid = Unknown, data = "x" });
        Assert.Equal("NOT_FOUND", code);
        Assert.Contains($"pid {Unknown}", message);
        (code, _) = await api.ErrorAsync("mutation ($id: ID!) { signalProcess(sandboxId: $id, pid: 4000000, signal: TERM) }", new { id });
        Assert.Equal("NOT_FOUND", code);
        (code, message) = await api.ErrorAsync("mutation ($id: ID!) { signalProcess(sandboxId: $id, pid: 1, signal: KILL) }", new { id });
        Assert.Equal("BAD_USER_INPUT", code);
        Assert.Contains("init", message);
        (code, _) = await api.ErrorAsync("mutation ($id: ID!) { sendInput(sandboxId: $id, pid: 0, data: \"x\") }", new { id });
        Assert.Equal("BAD_USER_INPUT", code);

        foreach (var (cols, rows) in new[] { (0, 24), (80, 0), (1001, 24), (80, 1001), (-5, 24) })
        {
            (code, message) = await api.ErrorAsync("mutation ($id: ID!, $pid: Int!, $c: Int!, $r: Int!) { resizeTerminal(sandboxId: $id, pid: $pid, cols: $c, rows: $r) }", new { id, pid = terminal, c = cols, r = rows });
            Assert.Equal("BAD_USER_INPUT", code);
            Assert.Contains("1 to 1000", message);
            (code, _) = await api.ErrorAsync(StartProcess, new { id, command = "bash", pty = new { cols, rows } });
            Assert.Equal("BAD_USER_INPUT", code);
        }
        (code, _) = await api.ErrorAsync("mutation ($id: ID!, $pid: Int!) { resizeTerminal(sandboxId: $id, pid: $pid, cols: 80, rows: 24) }", new { id, pid = pipe });
        Assert.Equal("FAILED_PRECONDITION", code); // no terminal to resize
        (code, _) = await api.ErrorAsync("mutation ($id: ID!, $pid: Int!) { closeInput(sandboxId: $id, pid: $pid) }", new { id, pid = terminal });
        Assert.Equal("FAILED_PRECONDITION", code); // a terminal has no end of input apart from ^D
        (code, _) = await api.ErrorAsync(SendInput, new { id, pid = pipe, data = "not base64!", encoding = "BASE64" });
        Assert.Equal("BAD_USER_INPUT", code);
        (code, message) = await api.ErrorAsync(StartProcess, new { id, command = "no-such-program" });
        Assert.Equal("BAD_USER_INPUT", code);
        Assert.Contains("not found", message);

        await using (var unknown = await AttachAsync(id, Unknown))
            Assert.Equal("NOT_FOUND", (await unknown.ErrorAsync()).Code);

        // Nothing of that touched the processes that run.
        Assert.Null((await ListedAsync(id, pipe))!["exitCode"]);
        Assert.Null((await ListedAsync(id, terminal))!["exitCode"]);
        await api.DataAsync("mutation ($id: ID!, $a: Int!, $b: Int!) { a: signalProcess(sandboxId: $id, pid: $a, signal: KILL) b: signalProcess(sandboxId: $id, pid: $b, signal: KILL) }", new { id, a = pipe, b = terminal });
    }
}
