using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Tests;

/// <summary>
/// Processes that outlive a call (StartProcess, Attach, input, signals), against the published
/// agent binary running on the host.
/// </summary>
public sealed class AgentProcessTableTests(AgentProcessFixture agent) : IClassFixture<AgentProcessFixture>, IDisposable
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("wt-agentproc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task StartProcess_answers_at_once_and_the_process_is_listed_with_its_details()
    {
        using var client = agent.NewClient();
        var tag = $"wt-{Guid.NewGuid():N}";
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var started = await client.StartProcessAsync(new StartRequest { Command = "sleep", Args = { "30" }, Tag = tag }, Ct);
        try
        {
            Assert.True(started.Pid > 1);
            var listed = Assert.Single(await client.ListProcessesAsync(Ct), p => p.Tag == tag);
            Assert.Equal((started.Pid, "sleep", false, null), (listed.Pid, listed.Command, listed.Pty, listed.Exited));
            Assert.Equal(["30"], listed.Args);
            Assert.InRange(DateTimeOffset.FromUnixTimeMilliseconds(listed.StartedUnixMs), before, DateTimeOffset.UtcNow.AddSeconds(1));
        }
        finally
        {
            await client.SendSignalAsync(started.Pid, Signal.Kill, Ct);
        }
    }

    [Fact]
    public async Task An_ended_process_stays_listed_with_its_exit_code()
    {
        using var client = agent.NewClient();
        var started = await client.StartProcessAsync(new StartRequest { Command = "sh", Args = { "-c", "exit 7" } }, Ct);
        var exited = await ExitOfAsync(client, started.Pid);
        Assert.Equal((7, 0), (exited.ExitCode, exited.Signal));
        var listed = Assert.Single(await client.ListProcessesAsync(Ct), p => p.Pid == started.Pid);
        Assert.Equal(7, listed.Exited.ExitCode);
    }

    [Fact]
    public async Task A_new_attacher_first_gets_exactly_the_last_mebibyte_of_output()
    {
        using var client = agent.NewClient();
        var file = Path.Combine(_dir, "out.bin");
        var content = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 777);
        await File.WriteAllBytesAsync(file, content, Ct);
        var started = await client.StartProcessAsync(new StartRequest { Command = "cat", Args = { file } }, Ct);
        await ExitOfAsync(client, started.Pid);

        // It has ended: attaching now gives the retained output, then the exit.
        using var seen = new MemoryStream();
        Exited? exited = null;
        await foreach (var e in client.AttachAsync(started.Pid, Ct))
        {
            if (e.EventCase == ProcessEvent.EventOneofCase.Stdout)
                e.Stdout.Data.WriteTo(seen);
            if (e.EventCase == ProcessEvent.EventOneofCase.Exited)
                exited = e.Exited;
        }
        Assert.Equal(0, exited?.ExitCode);
        Assert.Equal(content.AsSpan(content.Length - 1024 * 1024).ToArray(), seen.ToArray());
    }

    [Fact]
    public async Task Several_attachers_see_the_same_live_output_and_detaching_does_not_stop_the_process()
    {
        using var client = agent.NewClient();
        var started = await client.StartProcessAsync(new StartRequest { Command = "cat" }, Ct);
        try
        {
            using var firstStop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            await using var first = client.AttachAsync(started.Pid, firstStop.Token).GetAsyncEnumerator(firstStop.Token);
            await using var second = client.AttachAsync(started.Pid, Ct).GetAsyncEnumerator(Ct);
            Assert.True(await first.MoveNextAsync() && first.Current.Started.Pid == started.Pid);
            Assert.True(await second.MoveNextAsync() && second.Current.Started.Pid == started.Pid);

            await client.SendInputAsync(started.Pid, "one\n"u8.ToArray(), close: false, Ct);
            Assert.Equal("one\n", await StdoutUntilAsync(first, "one\n"));
            Assert.Equal("one\n", await StdoutUntilAsync(second, "one\n"));

            // The first caller goes away; the process and the other caller go on.
            await firstStop.CancelAsync();
            await client.SendInputAsync(started.Pid, "two\n"u8.ToArray(), close: false, Ct);
            Assert.Equal("two\n", await StdoutUntilAsync(second, "two\n"));
            Assert.Null(Assert.Single(await client.ListProcessesAsync(Ct), p => p.Pid == started.Pid).Exited);

            await client.CloseInputAsync(started.Pid, Ct);
            Assert.True(await second.MoveNextAsync());
            Assert.Equal(0, second.Current.Exited.ExitCode);
        }
        finally
        {
            await KillIfRunningAsync(client, started.Pid);
        }
    }

    [Fact]
    public async Task Input_streamed_over_one_call_reaches_the_process_in_order_and_closing_ends_it()
    {
        using var client = agent.NewClient();
        var started = await client.StartProcessAsync(new StartRequest { Command = "sh", Args = { "-c", "cat; echo done" } }, Ct);
        await using var output = client.AttachAsync(started.Pid, Ct).GetAsyncEnumerator(Ct);
        Assert.True(await output.MoveNextAsync());
        using (var input = client.OpenInput(started.Pid, Ct))
        {
            for (var i = 0; i < 100; i++)
                await input.WriteAsync(Encoding.ASCII.GetBytes($"{i},"), Ct);
            await input.CompleteAsync(closeInput: true, Ct);
        }
        var expected = string.Concat(Enumerable.Range(0, 100).Select(i => $"{i},")) + "done\n";
        Assert.Equal(expected, await StdoutUntilAsync(output, expected));
    }

    [Fact]
    public async Task Start_sends_its_input_and_then_closes_it()
    {
        using var client = agent.NewClient();
        var result = await client.ExecAsync(new StartRequest { Command = "sh", Args = { "-c", "cat; echo end" }, Input = Google.Protobuf.ByteString.CopyFromUtf8("from stdin\n") }, Ct);
        Assert.Equal("from stdin\nend\n", result.StdoutText);
    }

    [Fact]
    public async Task Input_to_a_process_that_has_ended_is_refused_and_says_so()
    {
        using var client = agent.NewClient();
        var started = await client.StartProcessAsync(new StartRequest { Command = "true" }, Ct);
        await ExitOfAsync(client, started.Pid);
        var error = await Assert.ThrowsAsync<AgentException>(() => client.SendInputAsync(started.Pid, "late"u8.ToArray(), false, Ct));
        Assert.Equal(StatusCode.FailedPrecondition, error.Code);
        Assert.Contains("has exited", error.Message);
        var signal = await Assert.ThrowsAsync<AgentException>(() => client.SendSignalAsync(started.Pid, Signal.Term, Ct));
        Assert.Equal(StatusCode.FailedPrecondition, signal.Code);
    }

    [Fact]
    public async Task Pid_1_and_pids_the_agent_did_not_start_are_refused()
    {
        using var client = agent.NewClient();
        var init = await Assert.ThrowsAsync<AgentException>(() => client.SendSignalAsync(1, Signal.Kill, Ct));
        Assert.Equal(StatusCode.InvalidArgument, init.Code);
        Assert.Contains("init", init.Message);
        // The test runner is a real process on this machine that the agent did not start.
        var other = await Assert.ThrowsAsync<AgentException>(() => client.SendSignalAsync(Environment.ProcessId, Signal.Term, Ct));
        Assert.Equal(StatusCode.NotFound, other.Code);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<AgentException>(async () =>
        {
            await foreach (var _ in client.AttachAsync(Environment.ProcessId, Ct))
            {
            }
        })).Code);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<AgentException>(() => client.ResizeTerminalAsync(Environment.ProcessId, 80, 24, Ct))).Code);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(11)]   // SIGSEGV: not one a caller may send
    [InlineData(64)]
    public async Task A_signal_outside_the_allowed_set_is_an_invalid_argument(int signal)
    {
        using var client = agent.NewClient();
        var started = await client.StartProcessAsync(new StartRequest { Command = "sleep", Args = { "30" } }, Ct);
        try
        {
            var error = await Assert.ThrowsAsync<AgentException>(() => client.SendSignalAsync(started.Pid, signal, Ct));
            Assert.Equal(StatusCode.InvalidArgument, error.Code);
            Assert.Contains("TERM", error.Message);
        }
        finally
        {
            await client.SendSignalAsync(started.Pid, Signal.Kill, Ct);
        }
    }

    [Fact]
    public async Task Stop_and_cont_pause_and_resume_a_process_and_term_ends_it()
    {
        using var client = agent.NewClient();
        var started = await client.StartProcessAsync(new StartRequest { Command = "sleep", Args = { "30" } }, Ct);
        await client.SendSignalAsync(started.Pid, Signal.Stop, Ct);
        await WaitForStateAsync(started.Pid, 'T');
        await client.SendSignalAsync(started.Pid, Signal.Cont, Ct);
        await WaitForStateAsync(started.Pid, 'S');
        await client.SendSignalAsync(started.Pid, Signal.Term, Ct);
        var exited = await ExitOfAsync(client, started.Pid);
        Assert.Equal((143, 15), (exited.ExitCode, exited.Signal));
    }

    [Fact]
    public async Task A_timeout_kills_the_process_group()
    {
        using var client = agent.NewClient();
        var started = await client.StartProcessAsync(new StartRequest { Command = "sleep", Args = { "30" }, TimeoutSeconds = 1 }, Ct);
        var exited = await ExitOfAsync(client, started.Pid);
        Assert.Equal(9, exited.Signal);
    }

    [Fact]
    public async Task A_terminal_of_an_impossible_size_is_refused_before_anything_starts()
    {
        using var client = agent.NewClient();
        var tag = $"wt-{Guid.NewGuid():N}";
        foreach (var (cols, rows) in new[] { (0u, 24u), (80u, 0u), (1001u, 24u), (80u, 1001u) })
        {
            var error = await Assert.ThrowsAsync<AgentException>(() => client.StartProcessAsync(
                new StartRequest { Command = "sh", Tag = tag, Pty = new Pty { Cols = cols, Rows = rows } }, Ct));
            Assert.Equal(StatusCode.InvalidArgument, error.Code);
            Assert.Contains("1 to 1000", error.Message);
        }
        Assert.DoesNotContain(await client.ListProcessesAsync(Ct), p => p.Tag == tag);
    }

    /// <summary>Attaches and reads to the exit (the retained output first).</summary>
    internal static async Task<Exited> ExitOfAsync(AgentClient client, int pid)
    {
        await foreach (var e in client.AttachAsync(pid, TestContext.Timeout(60)))
        {
            if (e.EventCase == ProcessEvent.EventOneofCase.Exited)
                return e.Exited;
        }
        throw new InvalidOperationException($"The attach to {pid} ended without an exit event.");
    }

    internal static async Task<string> StdoutUntilAsync(IAsyncEnumerator<ProcessEvent> events, string expected)
    {
        var text = new StringBuilder();
        while (!text.ToString().Contains(expected, StringComparison.Ordinal) && await events.MoveNextAsync())
        {
            if (events.Current.EventCase is ProcessEvent.EventOneofCase.Stdout)
                text.Append(events.Current.Stdout.Data.ToStringUtf8());
            if (events.Current.EventCase is ProcessEvent.EventOneofCase.Pty)
                text.Append(events.Current.Pty.Data.ToStringUtf8());
        }
        return text.ToString();
    }

    private static async Task KillIfRunningAsync(AgentClient client, int pid)
    {
        if ((await client.ListProcessesAsync(CancellationToken.None)).Any(p => p.Pid == pid && p.Exited is null))
            await client.SendSignalAsync(pid, Signal.Kill, CancellationToken.None);
    }

    /// <summary>Waits for the process's state in /proc (T stopped, S sleeping); it changes asynchronously.</summary>
    private async Task WaitForStateAsync(int pid, char state)
    {
        for (var i = 0; i < 100; i++)
        {
            var stat = await File.ReadAllTextAsync($"/proc/{pid}/stat", Ct);
            if (stat[(stat.LastIndexOf(')') + 2)] == state)
                return;
            await Task.Delay(50, Ct);
        }
        Assert.Fail($"Process {pid} never reached state {state}.");
    }
}
