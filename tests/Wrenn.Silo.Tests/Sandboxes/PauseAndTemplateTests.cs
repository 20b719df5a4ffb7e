using Microsoft.Extensions.Configuration;
using System.Text;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

namespace Wrenn.Silo.Tests.Sandboxes;

/// <summary>Pause, resume and snapshot templates through the sandbox grain, on real VMs (QEMU under TCG).</summary>
public sealed class PauseAndTemplateTests(SiloFixture silo) : IClassFixture<SiloFixture>
{
    private async Task<string> RunAsync(ISandboxGrain sandbox, string script)
    {
        var result = await sandbox.ExecAsync(silo.Admin, new ExecRequest("sh", ["-c", script]), CancellationToken.None);
        Assert.True(result.ExitCode == 0, $"`{script}` failed ({result.ExitCode}): {result.Stderr}");
        return result.Stdout.Trim();
    }

    [Fact]
    public async Task A_paused_sandbox_holds_only_files_and_resumes_with_its_processes_and_files_as_they_were()
    {
        var created = await silo.CreateAsync(silo.Admin);
        var sandbox = silo.Host.Sandboxes.Sandbox(created.Id);
        await RunAsync(sandbox, "echo kept > /root/kept.txt");
        await RunAsync(sandbox, "setsid sh -c 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.2; done' > /dev/null 2>&1 &");
        await Task.Delay(1000);
        var before = int.Parse(await RunAsync(sandbox, "cat /tmp/count"));

        Info paused;
        using (await MachineGate.EnterAsync())
            paused = new(await sandbox.PauseAsync(silo.Admin));
        Assert.Equal(SandboxState.Paused, paused.Value.State);
        var objects = await silo.HostObjectsAsync();
        Assert.DoesNotContain(objects, o => o.StartsWith("vm ", StringComparison.Ordinal) && o.Contains(created.Id, StringComparison.Ordinal));
        Assert.DoesNotContain(objects, o => o.StartsWith("netns ", StringComparison.Ordinal) && o.Contains(created.Id, StringComparison.Ordinal));
        var refused = await Assert.ThrowsAsync<GrainException>(() => sandbox.ExecAsync(silo.Admin, new ExecRequest("true"), CancellationToken.None));
        Assert.Equal(ErrorCodes.FailedPrecondition, refused.Code);

        using (await MachineGate.EnterAsync())
            Assert.Equal(SandboxState.Running, (await sandbox.ResumeAsync(silo.Admin)).State);
        Assert.Equal("kept", await RunAsync(sandbox, "cat /root/kept.txt"));
        var after = int.Parse(await RunAsync(sandbox, "cat /tmp/count"));
        Assert.True(after >= before, $"the counter went back from {before} to {after}");
        await Task.Delay(1500);
        Assert.True(int.Parse(await RunAsync(sandbox, "cat /tmp/count")) > after, "the background process did not survive the pause");
        Assert.NotNull((await sandbox.GetAsync(silo.Admin)).Deadline);

        await sandbox.DestroyAsync(silo.Admin);
        Assert.DoesNotContain(await silo.HostObjectsAsync(), o => o.Contains(created.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_template_from_a_running_sandbox_starts_children_in_its_state_and_cannot_be_deleted_while_used()
    {
        var source = await silo.CreateAsync(silo.Admin);
        var sourceGrain = silo.Host.Sandboxes.Sandbox(source.Id);
        await RunAsync(sourceGrain, "echo from-source > /root/marker");

        TemplateInfo template;
        using (await MachineGate.EnterAsync())
            template = await sourceGrain.CreateTemplateAsync(silo.Admin, "warm");
        Assert.Equal((TemplateKind.Snapshot, "warm"), (template.Kind, template.Name));
        Assert.Equal("from-source", await RunAsync(sourceGrain, "cat /root/marker")); // the source goes on running
        await RunAsync(sourceGrain, "echo after > /root/later");

        var child = await silo.CreateAsync(silo.Admin, "warm");
        var childGrain = silo.Host.Sandboxes.Sandbox(child.Id);
        Assert.Equal("from-source", await RunAsync(childGrain, "cat /root/marker"));
        Assert.Equal("absent", await RunAsync(childGrain, "test -e /root/later && echo present || echo absent")); // its own disk
        var templateGrain = silo.Host.Grains.GetGrain<ITemplateGrain>(template.Id);
        Assert.Equal(1, (await templateGrain.GetAsync(silo.Admin)).SandboxesUsingIt);

        var inUse = await Assert.ThrowsAsync<GrainException>(() => templateGrain.DeleteAsync(silo.Admin));
        Assert.Equal(ErrorCodes.FailedPrecondition, inUse.Code);
        Assert.Contains("used by 1 sandbox", inUse.Message);

        await childGrain.DestroyAsync(silo.Admin);
        await templateGrain.DeleteAsync(silo.Admin);
        Assert.Null(await silo.Host.Templates.ResolveAsync(silo.Admin, "warm", CancellationToken.None));
        // The source's disk never depended on the template's files: it pauses and resumes after the template is gone.
        using (await MachineGate.EnterAsync())
        {
            await sourceGrain.PauseAsync(silo.Admin);
            await sourceGrain.ResumeAsync(silo.Admin);
        }
        Assert.Equal("from-source", await RunAsync(sourceGrain, "cat /root/marker"));
        await sourceGrain.DestroyAsync(silo.Admin);
        Assert.DoesNotContain(await silo.HostObjectsAsync(), o => o.Contains(source.Id, StringComparison.Ordinal) || o.Contains(child.Id, StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(silo.DataDir, "templates")) && Directory.EnumerateDirectories(Path.Combine(silo.DataDir, "templates")).Any(),
            "the template's files should be gone with it");
    }

    [Fact]
    public async Task The_reconciler_removes_template_files_that_no_template_refers_to_but_not_recent_ones()
    {
        var templates = Path.Combine(silo.DataDir, "templates");
        var orphan = Directory.CreateDirectory(Path.Combine(templates, "orphan-from-a-crash")).FullName;
        await File.WriteAllTextAsync(Path.Combine(orphan, "memory.ram"), "x");
        Directory.SetLastWriteTimeUtc(orphan, DateTime.UtcNow.AddHours(-1));
        var fresh = Directory.CreateDirectory(Path.Combine(templates, "being-made-now")).FullName;

        var report = await silo.Host.Reconciler.RunOnceAsync(CancellationToken.None);

        Assert.Contains(report.OrphansRemoved, r => r.Contains("orphan-from-a-crash", StringComparison.Ordinal));
        Assert.False(Directory.Exists(orphan));
        Assert.True(Directory.Exists(fresh), "a folder a template may be written into right now must stay");
        Directory.Delete(fresh);
    }

    private sealed record Info(SandboxInfo Value);
}

/// <summary>A silo whose paused sandboxes are kept only a few seconds.</summary>
public sealed class ShortRetentionSilo : IAsyncLifetime
{
    public SiloFixture Silo { get; } = new()
    {
        Configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Wrenn:Sandboxes:PausedRetention"] = "00:00:05" }).Build(),
    };

    public Task InitializeAsync() => Silo.InitializeAsync();

    public Task DisposeAsync() => Silo.DisposeAsync();
}

/// <summary>Paused sandboxes have their own retention, after which they are deleted with their files.</summary>
public sealed class PausedRetentionTests(ShortRetentionSilo retention) : IClassFixture<ShortRetentionSilo>
{
    [Fact]
    public async Task A_sandbox_paused_longer_than_its_retention_is_deleted_with_its_files()
    {
        var silo = retention.Silo;
        var created = await silo.CreateAsync(silo.Admin);
        var sandbox = silo.Host.Sandboxes.Sandbox(created.Id);
        using (await MachineGate.EnterAsync())
            await sandbox.PauseAsync(silo.Admin);
        Assert.Contains(await silo.HostObjectsAsync(), o => o.StartsWith("disk ", StringComparison.Ordinal) && o.Contains(created.Id, StringComparison.Ordinal));

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await sandbox.GetAsync(silo.Admin)).State == SandboxState.Paused && DateTime.UtcNow < deadline)
            await Task.Delay(500);

        var ended = await sandbox.GetAsync(silo.Admin);
        Assert.Equal(SandboxState.Destroyed, ended.State);
        Assert.Contains("retention", ended.Error);
        Assert.DoesNotContain(await silo.HostObjectsAsync(), o => o.Contains(created.Id, StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(silo.DataDir, "snapshots", created.Id)), "its snapshot files should be gone");
    }

    [Fact]
    public async Task A_template_that_fails_midway_leaves_its_source_running_not_lost_or_half_paused()
    {
        var silo = retention.Silo;
        var created = await silo.CreateAsync(silo.Admin);
        var sandbox = silo.Host.Sandboxes.Sandbox(created.Id);
        var blocker = Path.Combine(silo.DataDir, "templates");
        await File.WriteAllTextAsync(blocker, "a file where the templates folder should be"); // the freeze cannot write
        try
        {
            GrainException error;
            using (await MachineGate.EnterAsync())
                error = await Assert.ThrowsAsync<GrainException>(() => sandbox.CreateTemplateAsync(silo.Admin, "doomed"));
            Assert.Equal((ErrorCodes.Internal, true), (error.Code, error.Message.StartsWith(Wrenn.Silo.Cluster.Filters.ErrorId.Prefix, StringComparison.Ordinal)));
            Assert.Equal(SandboxState.Running, (await sandbox.GetAsync(silo.Admin)).State);
            Assert.Equal(0, (await sandbox.ExecAsync(silo.Admin, new ExecRequest("true"), CancellationToken.None)).ExitCode);
            Assert.Null(await silo.Host.Templates.ResolveAsync(silo.Admin, "doomed", CancellationToken.None));
        }
        finally
        {
            File.Delete(blocker);
            await sandbox.DestroyAsync(silo.Admin);
        }
        Assert.DoesNotContain(await silo.HostObjectsAsync(), o => o.Contains(created.Id, StringComparison.Ordinal));
    }
}
