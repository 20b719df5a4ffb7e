using System.Text;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Data;
using Wrenn.Testing;

namespace Wrenn.Silo.Tests.Sandboxes;

/// <summary>Sandboxes through their grains, on real VMs (QEMU under TCG), real netns and qcow2 disks.</summary>
public sealed class SandboxGrainTests(SiloFixture silo) : IClassFixture<SiloFixture>
{
    [Fact]
    public async Task Create_exec_write_read_and_destroy_leave_nothing_on_the_host()
    {
        var created = await silo.CreateAsync(silo.Admin);
        Assert.Equal(SandboxState.Running, created.State);
        var sandbox = silo.Host.Sandboxes.Sandbox(created.Id);

        var uname = await sandbox.ExecAsync(silo.Admin, new ExecRequest("uname", ["-s"]), CancellationToken.None);
        Assert.Equal((0, "Linux\n"), (uname.ExitCode, uname.Stdout));
        var failing = await sandbox.ExecAsync(silo.Admin, new ExecRequest("sh", ["-c", "echo oops >&2; exit 3"]), CancellationToken.None);
        Assert.Equal((3, "oops\n"), (failing.ExitCode, failing.Stderr));

        var written = await sandbox.WriteFileAsync(silo.Admin, "/tmp/dir/hello.txt", Encoding.UTF8.GetBytes("hello from the host"), CancellationToken.None);
        Assert.Equal(19, written.Size);
        var read = new List<byte>();
        await foreach (var chunk in sandbox.ReadFileAsync(silo.Admin, "/tmp/dir/hello.txt", CancellationToken.None))
            read.AddRange(chunk);
        Assert.Equal("hello from the host", Encoding.UTF8.GetString(read.ToArray()));
        Assert.Contains(await sandbox.ListDirAsync(silo.Admin, "/tmp/dir", CancellationToken.None), e => e.Name == "hello.txt" && !e.IsDirectory);
        var missing = await Assert.ThrowsAsync<GrainException>(() => sandbox.ListDirAsync(silo.Admin, "/no/such/dir", CancellationToken.None));
        Assert.Equal(ErrorCodes.NotFound, missing.Code);

        await sandbox.DestroyAsync(silo.Admin);

        Assert.Equal(SandboxState.Destroyed, (await sandbox.GetAsync(silo.Admin)).State);
        Assert.DoesNotContain(await silo.HostObjectsAsync(), o => o.Contains(created.Id, StringComparison.Ordinal));
        var afterDestroy = await Assert.ThrowsAsync<GrainException>(() => sandbox.ExecAsync(silo.Admin, new ExecRequest("true"), CancellationToken.None));
        Assert.Equal(ErrorCodes.FailedPrecondition, afterDestroy.Code);
        Assert.Contains("destroyed", afterDestroy.Message);
    }

    [Fact]
    public async Task Two_sandboxes_run_side_by_side_and_cannot_reach_each_others_agent()
    {
        var a = await silo.CreateAsync(silo.Admin);
        var b = await silo.CreateAsync(silo.Admin);
        try
        {
            var bAddress = (await silo.Host.Store.GetAsync(b.Id, CancellationToken.None))!.Vm!.Network.HostAddress;
            var probe = "exec 3<>/dev/tcp/$0/49999 && echo reached";
            var fromA = await silo.Host.Sandboxes.Sandbox(a.Id).ExecAsync(silo.Admin,
                new ExecRequest("timeout", ["5", "bash", "-c", probe, bAddress.ToString()]), CancellationToken.None);
            Assert.NotEqual(0, fromA.ExitCode);
            Assert.DoesNotContain("reached", fromA.Stdout);

            // The control: the same probe reaches the sandbox's own agent, so the command itself works.
            var own = await silo.Host.Sandboxes.Sandbox(a.Id).ExecAsync(silo.Admin,
                new ExecRequest("timeout", ["5", "bash", "-c", probe, "127.0.0.1"]), CancellationToken.None);
            Assert.Equal("reached\n", own.Stdout);
        }
        finally
        {
            await silo.Host.Sandboxes.Sandbox(a.Id).DestroyAsync(silo.Admin);
            await silo.Host.Sandboxes.Sandbox(b.Id).DestroyAsync(silo.Admin);
        }
    }

    [Fact]
    public async Task Execs_run_together_and_destroy_cancels_a_running_exec_with_a_clear_error()
    {
        var created = await silo.CreateAsync(silo.Admin);
        var sandbox = silo.Host.Sandboxes.Sandbox(created.Id);

        // Two streamed execs: both start before either ends, so they ran at the same time.
        var first = sandbox.ExecStreamAsync(silo.Admin, new ExecRequest("sleep", ["3"]), CancellationToken.None).GetAsyncEnumerator();
        var second = sandbox.ExecStreamAsync(silo.Admin, new ExecRequest("sleep", ["3"]), CancellationToken.None).GetAsyncEnumerator();
        Assert.True(await first.MoveNextAsync());
        Assert.True(await second.MoveNextAsync());
        Assert.Equal((ExecEventKind.Started, ExecEventKind.Started), (first.Current.Kind, second.Current.Kind));
        await first.DisposeAsync();
        await second.DisposeAsync();

        var longRunning = sandbox.ExecAsync(silo.Admin, new ExecRequest("sleep", ["600"]), CancellationToken.None);
        await Task.Delay(1000);
        await sandbox.DestroyAsync(silo.Admin);

        var cancelled = await Assert.ThrowsAsync<GrainException>(() => longRunning);
        Assert.Equal(ErrorCodes.Cancelled, cancelled.Code);
        Assert.Contains("destroyed while it ran", cancelled.Message);
        Assert.DoesNotContain(await silo.HostObjectsAsync(), o => o.Contains(created.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_create_that_fails_in_the_middle_leaves_nothing_and_gives_the_room_back()
    {
        var broken = Path.Combine(silo.DataDir, "broken-image");
        Directory.CreateDirectory(broken);
        var real = await File.ReadAllTextAsync(Path.Combine(RepoPaths.ImageDir, "manifest.json"));
        await File.WriteAllTextAsync(Path.Combine(broken, "manifest.json"),
            System.Text.RegularExpressions.Regex.Replace(real, "\"kernel\"\\s*:\\s*\"[^\"]*\"", $"\"kernel\": \"{broken}/no-such-kernel\""));
        var team = await silo.Host.Teams.CreateTeamAsync($"broken-{Guid.NewGuid():N}", CancellationToken.None);
        var caller = new Caller(team.Id, "test", Role.Member);
        await silo.Host.Templates.AddAsync(team.Id, "broken", false, TemplateKind.Image, 1, 256, new TemplateSource(ImageDir: broken), CancellationToken.None);
        var before = await HostInfoAsync();

        var error = await Assert.ThrowsAsync<GrainException>(() => silo.CreateAsync(caller, "broken"));

        // The caller learns only that it failed and the error id the silo logged it under; the record says why.
        Assert.Equal(ErrorCodes.Internal, error.Code);
        Assert.StartsWith(Wrenn.Silo.Cluster.Filters.ErrorId.Prefix, error.Message);
        var failed = Assert.Single(await silo.Host.Sandboxes.ListAsync(caller, null, null, 10, CancellationToken.None));
        Assert.Equal(SandboxState.Failed, failed.State);
        Assert.Contains("no-such-kernel", failed.Error);
        Assert.DoesNotContain(await silo.HostObjectsAsync(), o => o.Contains(failed.Id, StringComparison.Ordinal));
        Assert.Equal(before.Reserved, (await HostInfoAsync()).Reserved);
    }

    [Fact]
    public async Task A_sandbox_past_its_timeout_is_destroyed_also_across_a_silo_restart()
    {
        var created = await silo.CreateAsync(silo.Admin, timeoutSeconds: 25);
        await silo.RestartAsync(); // the VM keeps running; the deadline is durable

        var sandbox = silo.Host.Sandboxes.Sandbox(created.Id);
        Assert.Equal(SandboxState.Running, (await sandbox.GetAsync(silo.Admin)).State);
        Assert.Equal(0, (await sandbox.ExecAsync(silo.Admin, new ExecRequest("true"), CancellationToken.None)).ExitCode); // re-adopted
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while ((await sandbox.GetAsync(silo.Admin)).State == SandboxState.Running && DateTime.UtcNow < deadline)
            await Task.Delay(500);

        var ended = await sandbox.GetAsync(silo.Admin);
        Assert.Equal(SandboxState.Destroyed, ended.State);
        Assert.Equal("its timeout passed", ended.Error);
        Assert.DoesNotContain(await silo.HostObjectsAsync(), o => o.Contains(created.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_reservation_that_does_not_fit_the_host_is_refused_as_resource_exhausted_and_nothing_is_created()
    {
        var host = await HostInfoAsync();
        var tooMany = Math.Min(64, host.Capacity.Vcpus - host.Reserved.Vcpus + 1);
        Assert.True(tooMany <= 64, "this test needs a host offering fewer than 64 vCPUs");

        var error = await Assert.ThrowsAsync<GrainException>(() =>
            silo.Host.Sandboxes.CreateAsync(silo.Admin, new Wrenn.Silo.Sandboxes.NewSandbox("base", Vcpus: tooMany), CancellationToken.None));

        Assert.Equal(ErrorCodes.ResourceExhausted, error.Code);
        Assert.Contains($"{tooMany} vCPUs asked", error.Message);
        Assert.Equal(host.Reserved, (await HostInfoAsync()).Reserved);
        var bad = await Assert.ThrowsAsync<GrainException>(() =>
            silo.Host.Sandboxes.CreateAsync(silo.Admin, new Wrenn.Silo.Sandboxes.NewSandbox("base", MemoryMib: 64), CancellationToken.None));
        Assert.Equal((ErrorCodes.InvalidArgument, "memoryMib must be between 128 and 262144 (got 64)."), (bad.Code, bad.Message));
    }

    private Task<HostInfo> HostInfoAsync() =>
        silo.Host.Grains.GetGrain<IHostSlotGrain>(silo.Host.SiloName).GetAsync(Caller.System);
}
