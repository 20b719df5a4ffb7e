using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Wrenn.Abstractions.Plugins;
using Wrenn.Grains.Ids;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Cluster.Placement;
using Wrenn.Silo.Tests.Cluster;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

namespace Wrenn.Silo.Tests.Sandboxes;

/// <summary>A silo process killed with sandboxes running, then started again: re-adoption and reconciliation.</summary>
public sealed class SiloCrashTests
{
    [Fact]
    public async Task A_silo_killed_with_sandboxes_running_re_adopts_them_on_restart_and_cleans_up_orphans()
    {
        await using var client = new SiloFixtureScope();
        var b = client.Silo;
        var owner = TestPrefix.NewOwner();
        var name = $"{owner}-silo";
        var dataDir = $"/run/wrenn/{owner}-data";
        var plugins = LocalPlugins.Create(new PluginHost(owner, dataDir, $"/run/wrenn/{owner}", "/run/wrenn", "/var/cache/wrenn"), NullLoggerFactory.Instance);
        WrennProcess? a = null;
        try
        {
            a = await WrennProcess.StartAsync(dataDir, b.ConnectionString, owner, name);
            var template = (await b.Host.Templates.ResolveAsync(Caller.System, "base", CancellationToken.None))!;
            var ids = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                var id = SandboxId.New().ToString();
                using var gate = await MachineGate.EnterAsync();
                await b.Host.Grains.GetGrain<IHostSlotGrain>(name).ReserveAsync(Caller.System, id, 1, 256, 2048);
                SandboxInfo created;
                using (GrainHosts.OnHost(name))
                    created = await b.Host.Grains.GetGrain<ISandboxGrain>(id).CreateAsync(b.Admin, new CreateSandbox(template.Id, 1, 256, 600), CancellationToken.None);
                Assert.Equal(name, created.Host);
                ids.Add(id);
            }
            var (kept, vmGone, recordGone) = (ids[0], ids[1], ids[2]);

            a.Kill(); // no goodbye: the VMs keep running
            var vms = await plugins.Vmm.DiscoverAsync(owner, CancellationToken.None);
            Assert.Equal(3, vms.Count);
            Process.GetProcessById(vms.Single(v => v.SandboxId == vmGone).Pid).Kill(); // a record whose VM died
            await using (var data = NpgsqlDataSource.Create(b.ConnectionString))
            {
                await using var delete = data.CreateCommand($"DELETE FROM wrenn_sandboxes WHERE id = '{recordGone}'"); // a VM with no record
                Assert.Equal(1, await delete.ExecuteNonQueryAsync());
            }

            a = await WrennProcess.StartAsync(dataDir, b.ConnectionString, owner, name);

            var sandbox = b.Host.Grains.GetGrain<ISandboxGrain>(kept);
            ExecOutcome? echoed = null;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (echoed is null && DateTime.UtcNow < deadline)
            {
                try
                {
                    echoed = await sandbox.ExecAsync(b.Admin, new ExecRequest("echo", ["still here"]), CancellationToken.None);
                }
                catch (GrainException e) when (e.Code is "UNAVAILABLE" or "LOST")
                {
                    await Task.Delay(500); // this silo's view of the restarted one catches up
                }
            }
            Assert.Equal("still here\n", echoed?.Stdout);
            Assert.Equal(SandboxState.Lost, (await b.Host.Grains.GetGrain<ISandboxGrain>(vmGone).GetAsync(b.Admin)).State);
            var notFound = await Assert.ThrowsAsync<GrainException>(() => b.Host.Grains.GetGrain<ISandboxGrain>(recordGone).GetAsync(b.Admin));
            Assert.Equal(ErrorCodes.NotFound, notFound.Code);

            // The database and the host agree: one running sandbox, and host objects for it alone.
            var running = await b.Host.Store.OnHostAsync(name, [SandboxState.Running, SandboxState.Creating], CancellationToken.None);
            Assert.Equal([kept], running.Select(r => r.Id));
            Assert.Equal([kept], (await plugins.Vmm.DiscoverAsync(owner, CancellationToken.None)).Select(v => v.SandboxId));
            Assert.Equal([kept], (await plugins.Network.DiscoverAsync(owner, CancellationToken.None)).Select(s => s.SandboxId));
            Assert.Equal([kept], (await plugins.Storage.DiscoverAsync(owner, CancellationToken.None)).Select(d => d.SandboxId));
            // The kept VM's jail is the one its record names (re-adopted, not made again); the others' jails are freed.
            var keptVm = (await b.Host.Store.GetAsync(kept, CancellationToken.None))!.Vm!.Vm;
            Assert.Equal([(kept, plugins.Vmm.JailOf(keptVm).Uid)], plugins.Vmm.Jails.OwnedBy(owner).Select(j => (j.SandboxId, j.Uid)));

            await sandbox.DestroyAsync(b.Admin);
        }
        finally
        {
            if (a is not null)
                await a.StopAsync();
            await plugins.WithSnapshots(NullLoggerFactory.Instance).RemoveOrphansAsync(_ => false, CancellationToken.None);
            foreach (var dir in new[] { dataDir, $"/run/wrenn/{owner}" })
            {
                if (Directory.Exists(dir))
                    Directory.Delete(dir, recursive: true);
            }
            TestPrefix.Retire(owner);
        }
    }

    [Fact]
    public async Task A_silo_on_its_own_PostgreSQL_prints_its_URL_and_key_and_takes_its_database_along_on_SIGTERM_and_on_kill()
    {
        var owner = TestPrefix.NewOwner();
        var dataDir = $"/run/wrenn/{owner}-data";
        WrennProcess? wrenn = null;
        try
        {
            wrenn = await WrennProcess.StartAsync(dataDir, null, owner, $"{owner}-silo");
            // The ready line names the API (other lines, such as the address silos forward ports through, may carry URLs too).
            var ready = Assert.Single(wrenn.Lines, l => l.Contains(" is ready. GraphQL: ", StringComparison.Ordinal));
            Assert.Matches(@"GraphQL: http://127\.0\.0\.1:\d+/graphql$", ready);
            Assert.Single(wrenn.Lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, "^wrn_[A-Za-z0-9_-]{32,}$"));
            Assert.Single(wrenn.Lines, l => l.StartsWith("wrn_", StringComparison.Ordinal));
            var postgres = PostmasterPid(dataDir);
            Assert.True(Directory.Exists($"/proc/{postgres}"), "the silo's own PostgreSQL should run");

            var stopping = Stopwatch.StartNew();
            await wrenn.StopAsync();
            Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"the silo took {stopping.Elapsed.TotalSeconds:0.0} s to stop after SIGTERM");
            Assert.False(Directory.Exists($"/proc/{postgres}"), "its PostgreSQL should stop with it");

            // Started again (no new key: not a first start), then killed: PostgreSQL dies with it.
            wrenn = await WrennProcess.StartAsync(dataDir, null, owner, $"{owner}-silo");
            Assert.DoesNotContain(wrenn.Lines, l => l.StartsWith("wrn_", StringComparison.Ordinal));
            postgres = PostmasterPid(dataDir);
            wrenn.Kill();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (Directory.Exists($"/proc/{postgres}") && DateTime.UtcNow < deadline)
                await Task.Delay(100);
            Assert.False(Directory.Exists($"/proc/{postgres}"), "a killed silo's PostgreSQL must die with it (parent-death signal)");
        }
        finally
        {
            if (wrenn is not null)
                await wrenn.StopAsync();
            foreach (var dir in new[] { dataDir, $"/run/wrenn/{owner}", $"/run/wrenn/pg-{owner}" })
            {
                if (Directory.Exists(dir))
                    Directory.Delete(dir, recursive: true);
            }
            TestPrefix.Retire(owner);
        }
    }

    private static int PostmasterPid(string dataDir) =>
        int.Parse(File.ReadLines(Path.Combine(dataDir, "postgres", "data", "postmaster.pid")).First());

    /// <summary>An in-process silo for the test to call from, disposed with the test.</summary>
    private sealed class SiloFixtureScope : IAsyncDisposable
    {
        public SiloFixture Silo { get; } = new();

        public SiloFixtureScope() => Silo.InitializeAsync().GetAwaiter().GetResult();

        public async ValueTask DisposeAsync() => await Silo.DisposeAsync();
    }
}
