using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Data;
using Wrenn.Silo.Quotas;
using Wrenn.Testing;

namespace Wrenn.Silo.Tests.Sandboxes;

/// <summary>Forks of a running sandbox through the sandbox grain, on real VMs (QEMU under TCG): the source runs on in its VM.</summary>
public sealed class ForkTests(SiloFixture silo) : IClassFixture<SiloFixture>
{
    private string ForkRoot => Path.Combine(silo.DataDir, "forks");

    private async Task<string> RunAsync(ISandboxGrain sandbox, string script)
    {
        var result = await sandbox.ExecAsync(silo.Admin, new ExecRequest("sh", ["-c", script]), CancellationToken.None);
        Assert.True(result.ExitCode == 0, $"`{script}` failed ({result.ExitCode}): {result.Stderr}");
        return result.Stdout.Trim();
    }

    private async Task<IReadOnlyList<SandboxInfo>> ForkAsync(ISandboxGrain sandbox, int count)
    {
        using var gate = await MachineGate.EnterAsync();
        return await sandbox.ForkAsync(silo.Admin, count);
    }

    private static async Task<string> EchoAsync(StreamReader reader, StreamWriter writer, string line)
    {
        await writer.WriteLineAsync(line);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        return await reader.ReadLineAsync(timeout.Token) ?? "(closed)";
    }

    [Fact]
    public async Task Children_start_in_the_running_sources_state_and_diverge_while_the_source_runs_on_with_its_connections_open()
    {
        var source = await silo.CreateAsync(silo.Admin);
        var sourceGrain = silo.Host.Sandboxes.Sandbox(source.Id);
        await RunAsync(sourceGrain, "echo from-source > /root/marker");
        await RunAsync(sourceGrain, "setsid sh -c 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.2; done' > /dev/null 2>&1 &");
        // An echo server in the source, reached from the host through the sandbox's slot, as port forwarding reaches it.
        await RunAsync(sourceGrain, "setsid python3 -c \"import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 7000)); s.listen()\nc,_=s.accept(); f=c.makefile('rw')\nfor l in f: f.write('echo ' + l); f.flush()\" > /dev/null 2>&1 &");
        var address = (await silo.Host.Services.GetRequiredService<SandboxStore>().GetAsync(source.Id, CancellationToken.None))!.Vm!.Network.HostAddress;
        using var tcp = new TcpClient();
        for (var attempt = 0; !tcp.Connected; attempt++)
        {
            try
            {
                await tcp.ConnectAsync(address, 7000);
            }
            catch (SocketException) when (attempt < 50)
            {
                await Task.Delay(200);
            }
        }
        using var reader = new StreamReader(tcp.GetStream(), Encoding.ASCII);
        using var writer = new StreamWriter(tcp.GetStream(), Encoding.ASCII) { AutoFlush = true };
        Assert.Equal("echo before", await EchoAsync(reader, writer, "before"));

        // Settings the children take with the source's state.
        await sourceGrain.UpdateNetworkAsync(silo.Admin, new NetworkPolicy(false, ["example.com"], []));
        await sourceGrain.UpdateLifecycleAsync(silo.Admin, new LifecycleChange(AutoResume: true));
        var children = await ForkAsync(sourceGrain, 2);

        Assert.Equal(2, children.Count);
        Assert.All(children, c => Assert.Equal((false, "example.com", true), (c.Network!.Internet, Assert.Single(c.Network.Allow), c.Lifecycle!.AutoResume)));
        Assert.All(children, c => Assert.Equal((SandboxState.Running, source.Host, source.TemplateId), (c.State, c.Host, c.TemplateId)));
        // The source ran on in the same VM: the connection it held across the fork still answers.
        Assert.Equal("echo after-the-fork", await EchoAsync(reader, writer, "after-the-fork"));
        Assert.Equal(SandboxState.Running, (await sourceGrain.GetAsync(silo.Admin)).State);
        await RunAsync(sourceGrain, "echo later > /root/later");

        var grains = children.Select(c => silo.Host.Sandboxes.Sandbox(c.Id)).ToList();
        for (var i = 0; i < grains.Count; i++)
        {
            Assert.Equal("from-source", await RunAsync(grains[i], "cat /root/marker"));
            var counted = int.Parse(await RunAsync(grains[i], "cat /tmp/count"));
            await Task.Delay(1200);
            Assert.True(int.Parse(await RunAsync(grains[i], "cat /tmp/count")) > counted, $"the source's process did not go on in child {i}");
            await RunAsync(grains[i], $"echo child-{i} > /root/own");
        }
        // Each has its own disk: no write reaches the source or the other child.
        Assert.Equal("child-0", await RunAsync(grains[0], "cat /root/own"));
        Assert.Equal("child-1", await RunAsync(grains[1], "cat /root/own"));
        Assert.Equal("absent", await RunAsync(sourceGrain, "test -e /root/own && echo present || echo absent"));
        Assert.Equal("absent", await RunAsync(grains[0], "test -e /root/later && echo present || echo absent"));
        // Fresh randomness in each.
        var random = new List<string>();
        foreach (var grain in grains.Prepend(sourceGrain))
            random.Add(await RunAsync(grain, "cat /proc/sys/kernel/random/uuid; head -c 16 /dev/urandom | od -An -tx1"));
        Assert.Equal(random.Count, random.Distinct().Count());

        // A child of a child: in the child's state, over both frozen layers.
        var grandchild = Assert.Single(await ForkAsync(grains[0], 1));
        var grandchildGrain = silo.Host.Sandboxes.Sandbox(grandchild.Id);
        Assert.Equal("from-source child-0", await RunAsync(grandchildGrain, "echo $(cat /root/marker) $(cat /root/own)"));
        Assert.Equal(2, Directory.EnumerateDirectories(ForkRoot).Count());

        // The frozen state stays while anything uses it and goes with the last user.
        await sourceGrain.DestroyAsync(silo.Admin);
        Assert.Equal("child-1", await RunAsync(grains[1], "cat /root/own"));
        Assert.Equal(2, Directory.EnumerateDirectories(ForkRoot).Count());
        foreach (var grain in grains.Append(grandchildGrain))
            await grain.DestroyAsync(silo.Admin);
        Assert.Empty(Directory.EnumerateDirectories(ForkRoot));
        var ids = children.Select(c => c.Id).Append(grandchild.Id).Append(source.Id).ToList();
        Assert.DoesNotContain(await silo.HostObjectsAsync(), o => ids.Any(id => o.Contains(id, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_fork_asked_wrongly_or_that_does_not_fit_is_refused_and_creates_nothing()
    {
        var source = await silo.CreateAsync(silo.Admin);
        var sourceGrain = silo.Host.Sandboxes.Sandbox(source.Id);
        var store = silo.Host.Services.GetRequiredService<SandboxStore>();
        var quotas = silo.Host.Services.GetRequiredService<TeamQuotas>();
        var hostSlot = silo.Host.Grains.GetGrain<IHostSlotGrain>(source.Host);
        var sandboxesBefore = (await store.ListAsync(silo.Admin.TeamId, null, null, 500, CancellationToken.None)).Count;
        var reservationsBefore = (await hostSlot.GetAsync(Caller.System)).Sandboxes;

        foreach (var count in new[] { 0, -1, 17 })
        {
            var refused = await Assert.ThrowsAsync<GrainException>(() => sourceGrain.ForkAsync(silo.Admin, count));
            Assert.Equal(ErrorCodes.InvalidArgument, refused.Code);
            Assert.Contains("between 1 and 16", refused.Message);
        }

        // Room for one child but not two: the whole fork is refused before the source is touched.
        var running = (await store.OnHostAsync(source.Host, [SandboxState.Running], CancellationToken.None)).Count(r => r.TeamId == silo.Admin.TeamId);
        await quotas.SetAsync(silo.Admin.TeamId, new QuotaChange(LimitChange.To(running + 1), LimitChange.Unchanged, LimitChange.Unchanged, LimitChange.Unchanged), CancellationToken.None);
        try
        {
            var exhausted = await Assert.ThrowsAsync<GrainException>(() => sourceGrain.ForkAsync(silo.Admin, 2));
            Assert.Equal(ErrorCodes.ResourceExhausted, exhausted.Code);
            Assert.Contains("maxRunningSandboxes", exhausted.Message);
        }
        finally
        {
            await quotas.SetAsync(silo.Admin.TeamId, new QuotaChange(LimitChange.To(null), LimitChange.Unchanged, LimitChange.Unchanged, LimitChange.Unchanged), CancellationToken.None);
        }
        Assert.Equal(sandboxesBefore, (await store.ListAsync(silo.Admin.TeamId, null, null, 500, CancellationToken.None)).Count);
        Assert.Equal(reservationsBefore, (await hostSlot.GetAsync(Caller.System)).Sandboxes);
        Assert.Equal((await quotas.UsageAsync(silo.Admin.TeamId, CancellationToken.None)).RunningSandboxes, running);
        Assert.False(Directory.Exists(ForkRoot) && Directory.EnumerateDirectories(ForkRoot).Any(), "a refused fork must leave no frozen state");
        Assert.Equal(SandboxState.Running, (await sourceGrain.GetAsync(silo.Admin)).State);

        using (await MachineGate.EnterAsync())
            await sourceGrain.PauseAsync(silo.Admin);
        var paused = await Assert.ThrowsAsync<GrainException>(() => sourceGrain.ForkAsync(silo.Admin, 1));
        Assert.Equal(ErrorCodes.FailedPrecondition, paused.Code);
        Assert.Contains("paused; resume it first", paused.Message);

        var otherTeam = new Caller("team-that-is-not-the-owner", "key", Role.Member);
        var hidden = await Assert.ThrowsAsync<GrainException>(() => sourceGrain.ForkAsync(otherTeam, 1));
        Assert.Equal(ErrorCodes.NotFound, hidden.Code);
        await sourceGrain.DestroyAsync(silo.Admin);
    }
}
