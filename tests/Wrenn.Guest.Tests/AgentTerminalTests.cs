using System.Text;
using Grpc.Core;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Tests;

/// <summary>Processes on a pseudo-terminal, against the published agent binary running on the host.</summary>
public sealed class AgentTerminalTests(AgentProcessFixture agent) : IClassFixture<AgentProcessFixture>
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);

    [Fact]
    public async Task A_shell_on_a_terminal_runs_what_is_typed_and_echoes_it()
    {
        using var client = agent.NewClient();
        var shell = await client.StartProcessAsync(new StartRequest { Command = "sh", Pty = new Pty { Cols = 80, Rows = 24 } }, Ct);
        try
        {
            Assert.True(shell.Pty);
            await using var output = client.AttachAsync(shell.Pid, Ct).GetAsyncEnumerator(Ct);
            Assert.True(await output.MoveNextAsync());
            await client.SendInputAsync(shell.Pid, "echo $((6*7))\n"u8.ToArray(), close: false, Ct);
            // The terminal echoes the typed line (with 6*7 in it) and the shell answers 42 on a line of its own.
            var seen = await AgentProcessTableTests.StdoutUntilAsync(output, "42\r\n");
            Assert.Contains("echo $((6*7))", seen);
            Assert.Contains("\r\n42\r\n", seen);
        }
        finally
        {
            await client.SendSignalAsync(shell.Pid, Signal.Kill, Ct);
        }
    }

    [Fact]
    public async Task The_terminal_is_the_controlling_tty_of_a_session_leader_with_term_set()
    {
        using var client = agent.NewClient();
        // $$ is the shell, the process the agent started: its session id is its pid, /dev/tty opens
        // (only with a controlling terminal), its streams are terminals, and TERM is set.
        var script = "read -r pid comm state ppid pgrp sid rest < /proc/$$/stat; " +
                     "[ \"$sid\" = \"$$\" ] && echo leader; " +
                     "(exec 3</dev/tty) 2>/dev/null && echo ctty; " +
                     "[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo tty012; " +
                     "echo \"term=$TERM\"; tty";
        var result = await client.ExecAsync(new StartRequest { Command = "sh", Args = { "-c", script }, Pty = new Pty { Cols = 100, Rows = 30 } }, Ct);
        var lines = result.StdoutText.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["leader", "ctty", "tty012", "term=xterm-256color"], lines[..4]);
        Assert.StartsWith("/dev/pts/", lines[4]);
        Assert.Empty(result.Stderr);
    }

    [Fact]
    public async Task A_terminal_started_with_a_size_reports_it_and_a_resize_is_seen_by_stty()
    {
        using var client = agent.NewClient();
        var shell = await client.StartProcessAsync(new StartRequest { Command = "sh", Pty = new Pty { Cols = 90, Rows = 20 } }, Ct);
        try
        {
            await using var output = client.AttachAsync(shell.Pid, Ct).GetAsyncEnumerator(Ct);
            Assert.True(await output.MoveNextAsync());
            await client.SendInputAsync(shell.Pid, "stty size\n"u8.ToArray(), close: false, Ct);
            Assert.Contains("20 90\r\n", await AgentProcessTableTests.StdoutUntilAsync(output, "20 90\r\n"));

            await client.ResizeTerminalAsync(shell.Pid, 132, 43, Ct);
            await client.SendInputAsync(shell.Pid, "stty size\n"u8.ToArray(), close: false, Ct);
            Assert.Contains("43 132\r\n", await AgentProcessTableTests.StdoutUntilAsync(output, "43 132\r\n"));
        }
        finally
        {
            await client.SendSignalAsync(shell.Pid, Signal.Kill, Ct);
        }
    }

    [Theory]
    [InlineData(0, 24)]
    [InlineData(80, 0)]
    [InlineData(1001, 24)]
    [InlineData(80, 1001)]
    public async Task A_resize_outside_1_to_1000_is_an_invalid_argument(int cols, int rows)
    {
        using var client = agent.NewClient();
        var shell = await client.StartProcessAsync(new StartRequest { Command = "sh", Pty = new Pty { Cols = 80, Rows = 24 } }, Ct);
        try
        {
            var error = await Assert.ThrowsAsync<AgentException>(() => client.ResizeTerminalAsync(shell.Pid, cols, rows, Ct));
            Assert.Equal(StatusCode.InvalidArgument, error.Code);
            Assert.Contains("1 to 1000", error.Message);
        }
        finally
        {
            await client.SendSignalAsync(shell.Pid, Signal.Kill, Ct);
        }
    }

    [Fact]
    public async Task Resizing_a_process_without_a_terminal_or_closing_a_terminals_input_is_a_failed_precondition()
    {
        using var client = agent.NewClient();
        var plain = await client.StartProcessAsync(new StartRequest { Command = "sleep", Args = { "30" } }, Ct);
        var shell = await client.StartProcessAsync(new StartRequest { Command = "sh", Pty = new Pty { Cols = 80, Rows = 24 } }, Ct);
        try
        {
            Assert.Equal(StatusCode.FailedPrecondition, (await Assert.ThrowsAsync<AgentException>(() => client.ResizeTerminalAsync(plain.Pid, 80, 24, Ct))).Code);
            var close = await Assert.ThrowsAsync<AgentException>(() => client.CloseInputAsync(shell.Pid, Ct));
            Assert.Equal(StatusCode.FailedPrecondition, close.Code);
            Assert.Contains("^D", close.Message);
        }
        finally
        {
            await client.SendSignalAsync(plain.Pid, Signal.Kill, Ct);
            await client.SendSignalAsync(shell.Pid, Signal.Kill, Ct);
        }
    }

    [Fact]
    public async Task Terminal_output_is_bytes_and_reattaching_replays_it()
    {
        using var client = agent.NewClient();
        // Bytes that are not UTF-8 arrive as they are (the terminal only adds \r before \n).
        var shell = await client.StartProcessAsync(new StartRequest { Command = "sh", Args = { "-c", "printf 'a\\377\\376b\\n'" }, Pty = new Pty { Cols = 80, Rows = 24 } }, Ct);
        await AgentProcessTableTests.ExitOfAsync(client, shell.Pid);
        using var seen = new MemoryStream();
        await foreach (var e in client.AttachAsync(shell.Pid, Ct))
        {
            Assert.NotEqual(ProcessEvent.EventOneofCase.Stdout, e.EventCase);
            if (e.EventCase == ProcessEvent.EventOneofCase.Pty)
                e.Pty.Data.WriteTo(seen);
        }
        Assert.Equal(new byte[] { (byte)'a', 0xff, 0xfe, (byte)'b', (byte)'\r', (byte)'\n' }, seen.ToArray());
    }

    [Fact]
    public async Task Ctrl_c_typed_on_the_terminal_becomes_sigint_for_the_foreground_group()
    {
        using var client = agent.NewClient();
        var script = "trap 'echo got-int' INT; echo ready; while :; do sleep 0.1; done";
        var shell = await client.StartProcessAsync(new StartRequest { Command = "sh", Args = { "-c", script }, Pty = new Pty { Cols = 80, Rows = 24 } }, Ct);
        try
        {
            await using var output = client.AttachAsync(shell.Pid, Ct).GetAsyncEnumerator(Ct);
            await AgentProcessTableTests.StdoutUntilAsync(output, "ready\r\n");
            // The line discipline turns the typed ^C into SIGINT for the terminal's foreground group.
            await client.SendInputAsync(shell.Pid, "\u0003"u8.ToArray(), close: false, Ct);
            Assert.Contains("got-int", await AgentProcessTableTests.StdoutUntilAsync(output, "got-int"));
        }
        finally
        {
            await client.SendSignalAsync(shell.Pid, Signal.Kill, Ct);
        }
    }
}
