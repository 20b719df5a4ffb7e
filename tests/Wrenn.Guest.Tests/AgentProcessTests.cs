using System.Diagnostics;
using System.Text;
using Wrenn.Guest.Protocol;
using Grpc.Core;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Tests;

/// <summary>The agent's Process service, against the published agent binary running on the host.</summary>
public sealed class AgentProcessTests(AgentProcessFixture agent) : IClassFixture<AgentProcessFixture>
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);

    [Fact]
    public async Task A_command_streams_its_output_and_exit_code()
    {
        using var client = agent.NewClient();
        var result = await client.ExecAsync("sh", ["-c", "echo out; echo err >&2; exit 3"], Ct);
        Assert.Equal(3, result.ExitCode);
        Assert.Equal(0, result.Signal);
        Assert.Equal("out\n", result.StdoutText);
        Assert.Equal("err\n", result.StderrText);
    }

    [Theory]
    [InlineData("exit 130", 130, 0)]
    [InlineData("exit 255", 255, 0)]
    [InlineData("kill -KILL $$", 137, 9)]
    [InlineData("kill -TERM $$", 143, 15)]
    // SIGPIPE is ignored in the agent (the .NET runtime does that); the command must get it back at its default.
    [InlineData("kill -PIPE $$", 141, 13)]
    public async Task An_exit_status_and_a_death_by_signal_are_told_apart(string script, int exitCode, int signal)
    {
        using var client = agent.NewClient();
        var result = await client.ExecAsync("sh", ["-c", script], Ct);
        Assert.Equal((exitCode, signal), (result.ExitCode, result.Signal));
    }

    [Fact]
    public async Task Output_arrives_before_the_process_exits()
    {
        using var client = agent.NewClient();
        var request = new StartRequest { Command = "sh", Args = { "-c", "echo first; sleep 3; echo second" } };
        var clock = Stopwatch.StartNew();
        TimeSpan? firstAt = null, exitAt = null;
        await foreach (var e in client.StartAsync(request, Ct))
        {
            if (e.EventCase == ProcessEvent.EventOneofCase.Stdout && firstAt is null)
            {
                Assert.Equal("first\n", e.Stdout.Data.ToStringUtf8());
                firstAt = clock.Elapsed;
            }
            if (e.EventCase == ProcessEvent.EventOneofCase.Exited)
                exitAt = clock.Elapsed;
        }
        Assert.NotNull(firstAt);
        Assert.NotNull(exitAt);
        // Not a speed assertion: the second line is three seconds of sleep away, so the first must come earlier.
        Assert.True(exitAt - firstAt > TimeSpan.FromSeconds(2), $"first output at {firstAt}, exit at {exitAt}: output was held back");
    }

    [Fact]
    public async Task The_first_event_names_the_pid()
    {
        using var client = agent.NewClient();
        var events = new List<ProcessEvent>();
        await foreach (var e in client.StartAsync(new StartRequest { Command = "true" }, Ct))
            events.Add(e);
        Assert.Equal(ProcessEvent.EventOneofCase.Started, events[0].EventCase);
        Assert.True(events[0].Started.Pid > 0);
        Assert.Equal(ProcessEvent.EventOneofCase.Exited, events[^1].EventCase);
    }

    [Fact]
    public async Task Ten_megabytes_of_output_arrive_without_loss()
    {
        using var client = agent.NewClient();
        // 10 MiB of a known pattern: head counts bytes exactly, so any loss or duplication shows.
        var result = await client.ExecAsync("sh", ["-c", "yes 0123456789abcdef | head -c 10485760"], Ct);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(10 * 1024 * 1024, result.Stdout.Length);
        var expected = Encoding.ASCII.GetBytes("0123456789abcdef\n");
        for (var i = 0; i < result.Stdout.Length; i++)
        {
            if (result.Stdout[i] != expected[i % expected.Length])
                Assert.Fail($"Byte {i} is {result.Stdout[i]}, expected {expected[i % expected.Length]}");
        }
    }

    [Fact]
    public async Task Standard_input_reaches_the_process()
    {
        using var client = agent.NewClient();
        var request = new StartRequest { Command = "cat", Stdin = true };
        var output = new StringBuilder();
        int? exitCode = null;
        await foreach (var e in client.StartAsync(request, Ct))
        {
            switch (e.EventCase)
            {
                case ProcessEvent.EventOneofCase.Started:
                    await client.SendInputAsync(e.Started.Pid, "hello "u8.ToArray(), close: false, Ct);
                    await client.SendInputAsync(e.Started.Pid, "stdin\n"u8.ToArray(), close: true, Ct);
                    break;
                case ProcessEvent.EventOneofCase.Stdout:
                    output.Append(e.Stdout.Data.ToStringUtf8());
                    break;
                case ProcessEvent.EventOneofCase.Exited:
                    exitCode = e.Exited.ExitCode;
                    break;
            }
        }
        Assert.Equal(0, exitCode);
        Assert.Equal("hello stdin\n", output.ToString());
    }

    [Fact]
    public async Task A_signal_reaches_the_whole_process_group()
    {
        using var client = agent.NewClient();
        var marker = Path.Combine(Path.GetTempPath(), $"wt-agent-{Guid.NewGuid():N}");
        try
        {
            // The shell starts a child that would write the marker after 3 s; killing the group must stop it too.
            var request = new StartRequest { Command = "sh", Args = { "-c", $"(sleep 3; touch {marker}) & echo started; wait" } };
            Exited? exited = null;
            await foreach (var e in client.StartAsync(request, Ct))
            {
                if (e.EventCase == ProcessEvent.EventOneofCase.Stdout)
                {
                    var pid = (await client.ListProcessesAsync(Ct)).Single(p => p.Args.Contains(request.Args[1])).Pid;
                    await client.SendSignalAsync(pid, 15, Ct);
                }
                if (e.EventCase == ProcessEvent.EventOneofCase.Exited)
                    exited = e.Exited;
            }
            Assert.NotNull(exited);
            Assert.Equal(15, exited.Signal);
            await Task.Delay(TimeSpan.FromSeconds(4));
            Assert.False(File.Exists(marker), "the command's child outlived the signal to its group");
        }
        finally
        {
            File.Delete(marker);
        }
    }

    [Fact]
    public async Task Cancelling_the_stream_kills_the_process_group()
    {
        using var client = agent.NewClient();
        var marker = Path.Combine(Path.GetTempPath(), $"wt-agent-{Guid.NewGuid():N}");
        try
        {
            using var cancel = new CancellationTokenSource();
            var request = new StartRequest { Command = "sh", Args = { "-c", $"echo started; sleep 3; touch {marker}" } };
            await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                await foreach (var e in client.StartAsync(request, cancel.Token))
                {
                    if (e.EventCase == ProcessEvent.EventOneofCase.Stdout)
                        cancel.Cancel();
                }
            });
            await Task.Delay(TimeSpan.FromSeconds(4));
            Assert.False(File.Exists(marker), "the command kept running after its caller went away");
            Assert.DoesNotContain(await client.ListProcessesAsync(Ct), p => p.Args.Contains(request.Args[1]));
        }
        finally
        {
            File.Delete(marker);
        }
    }

    [Fact]
    public async Task Environment_and_working_directory_are_applied()
    {
        using var client = agent.NewClient();
        var request = new StartRequest { Command = "sh", Args = { "-c", "echo $GREETING; pwd" }, Cwd = "/tmp", Env = { ["GREETING"] = "hi" } };
        var result = await client.ExecAsync(request, Ct);
        Assert.Equal("hi\n/tmp\n", result.StdoutText);
    }

    [Fact]
    public async Task An_unknown_command_is_not_found_and_says_so()
    {
        using var client = agent.NewClient();
        var error = await Assert.ThrowsAsync<AgentException>(() => client.ExecAsync("no-such-command-wt", null, Ct));
        Assert.Equal(StatusCode.NotFound, error.Code);
        Assert.Contains("no-such-command-wt", error.Message);
    }

    [Fact]
    public async Task Signals_and_input_for_an_unknown_process_are_not_found()
    {
        using var client = agent.NewClient();
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<AgentException>(() => client.SendSignalAsync(999_999, 15, Ct))).Code);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<AgentException>(() => client.SendInputAsync(999_999, "x"u8.ToArray(), false, Ct))).Code);
    }

    [Theory]
    [InlineData("relative/dir", null, null)]
    [InlineData(null, "BAD=NAME", "x")]
    [InlineData(null, "GOOD", "nul\0inside")]
    public async Task A_relative_working_directory_or_a_bad_environment_is_an_invalid_argument(string? cwd, string? key, string? value)
    {
        using var client = agent.NewClient();
        var request = new StartRequest { Command = "true", Cwd = cwd ?? "" };
        if (key is not null)
            request.Env[key] = value!;
        var error = await Assert.ThrowsAsync<AgentException>(() => client.ExecAsync(request, Ct));
        Assert.Equal(StatusCode.InvalidArgument, error.Code);
    }

    [Fact]
    public async Task A_file_that_is_not_executable_is_permission_denied()
    {
        using var client = agent.NewClient();
        var file = Path.Combine(Path.GetTempPath(), $"wt-noexec-{Guid.NewGuid():N}");
        try
        {
            await File.WriteAllTextAsync(file, "#!/bin/sh\necho should not run\n", Ct);
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var error = await Assert.ThrowsAsync<AgentException>(() => client.ExecAsync(file, null, Ct));
            Assert.Equal(StatusCode.PermissionDenied, error.Code);
            Assert.Contains(file, error.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_missing_working_directory_is_an_invalid_argument()
    {
        using var client = agent.NewClient();
        var error = await Assert.ThrowsAsync<AgentException>(() => client.ExecAsync(new StartRequest { Command = "true", Cwd = "/no/such/dir" }, Ct));
        Assert.Equal(StatusCode.InvalidArgument, error.Code);
    }

    [Fact]
    public async Task A_command_runs_as_the_requested_user_with_that_users_home()
    {
        using var client = agent.NewClient();
        var result = await client.ExecAsync(new StartRequest { Command = "sh", Args = { "-c", "id -un; echo $HOME" }, User = "nobody", Cwd = "/" }, Ct);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("nobody\n/nonexistent\n", result.StdoutText);
    }

    [Fact]
    public async Task An_unknown_user_is_an_invalid_argument()
    {
        using var client = agent.NewClient();
        var error = await Assert.ThrowsAsync<AgentException>(() => client.ExecAsync(new StartRequest { Command = "true", User = "no-such-user-wt" }, Ct));
        Assert.Equal(StatusCode.InvalidArgument, error.Code);
        Assert.Contains("no-such-user-wt", error.Message);
    }

    [Fact]
    public async Task A_running_process_is_listed_with_its_tag_until_it_exits()
    {
        using var client = agent.NewClient();
        var tag = $"wt-list-{Guid.NewGuid():N}";
        var request = new StartRequest { Command = "cat", Stdin = true, Tag = tag };
        var listed = false;
        await foreach (var e in client.StartAsync(request, Ct))
        {
            if (e.EventCase == ProcessEvent.EventOneofCase.Started)
            {
                var info = Assert.Single(await client.ListProcessesAsync(Ct), p => p.Tag == tag);
                Assert.Equal(e.Started.Pid, info.Pid);
                Assert.Equal("cat", info.Command);
                listed = true;
                await client.SendInputAsync(e.Started.Pid, ReadOnlyMemory<byte>.Empty, close: true, Ct);
            }
        }
        Assert.True(listed);
        Assert.DoesNotContain(await client.ListProcessesAsync(Ct), p => p.Tag == tag);
    }

    [Theory]
    [InlineData("directly")]
    [InlineData("under tini, as in the guest")]
    public async Task Stopping_the_agent_kills_the_process_groups_it_started(string how)
    {
        // An agent of its own: this test stops it. Under tini the SIGTERM goes to tini, which
        // forwards it to the agent (-g: to its process group) and exits when the agent does.
        var own = how == "directly" ? new AgentProcessFixture() : AgentProcessFixture.Under("tini", "-s", "-g", "--");
        await own.InitializeAsync();
        try
        {
            using var client = own.NewClient();
            var request = new StartRequest { Command = "sh", Args = { "-c", "sleep 60 & echo started; wait" } };
            var pid = 0;
            await using (var events = client.StartAsync(request, Ct).GetAsyncEnumerator(Ct))
            {
                while (await events.MoveNextAsync())
                {
                    if (events.Current.EventCase == ProcessEvent.EventOneofCase.Started)
                        pid = events.Current.Started.Pid;
                    if (events.Current.EventCase == ProcessEvent.EventOneofCase.Stdout)
                        break;
                }
                Assert.NotEmpty(ProcessGroup(pid));
                await own.TerminateAsync(Ct);
            }
            // The killed processes are reaped by whoever adopts them; wait for that, without a speed bar.
            for (var i = 0; i < 100 && ProcessGroup(pid).Count > 0; i++)
                await Task.Delay(100, Ct);
            Assert.Empty(ProcessGroup(pid));
        }
        finally
        {
            await own.DisposeAsync();
        }
    }

    /// <summary>The pids in process group <paramref name="pgid"/>, from /proc.</summary>
    private static List<int> ProcessGroup(int pgid)
    {
        var members = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            try
            {
                // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[2]) == pgid && fields[0] != "Z")
                    members.Add(pid);
            }
            catch (IOException)
            {
                // Gone while we looked.
            }
        }
        return members;
    }
}
