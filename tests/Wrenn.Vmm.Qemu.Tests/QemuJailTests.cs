using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Plugins;
using Wrenn.Plugins.Jail;
using Wrenn.Plugins.Vmm.Qemu;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

namespace Wrenn.Vmm.Qemu.Tests;

/// <summary>
/// Every QEMU runs jailed: read from the running process's /proc (its ids, no_new_privs, seccomp,
/// capabilities, PID namespace, root and cgroup), and from its cgroup's own accounting.
/// </summary>
public sealed class QemuJailTests(VmFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<VmFixture>
{
    private readonly CancellationToken Ct = new CancellationTokenSource(TimeSpan.FromMinutes(5)).Token;

    [Fact]
    public async Task A_running_QEMU_is_unprivileged_with_no_new_privs_seccomp_its_own_root_and_its_cgroup()
    {
        var sandbox = await fixture.BootAsync();
        var jail = fixture.Vmm.JailOf(sandbox.Vm);
        try
        {
            await GuestConsole.QuoteOnFailureAsync(sandbox, async () =>
            {
                var pid = sandbox.Vm.Pid;
                var status = Status(pid);
                Assert.True(jail.Jailed, "the VM handle records no jail");
                Assert.Equal($"{jail.Uid}\t{jail.Uid}\t{jail.Uid}\t{jail.Uid}", status["Uid"]);
                Assert.Equal($"{jail.Gid}\t{jail.Gid}\t{jail.Gid}\t{jail.Gid}", status["Gid"]);
                Assert.NotEqual(0, jail.Uid);
                Assert.Equal("", status["Groups"]);
                Assert.Equal("1", status["NoNewPrivs"]);
                Assert.Equal("2", status["Seccomp"]); // QEMU's own filter (-sandbox on,…)
                Assert.Equal("0000000000000000", status["CapEff"]);
                Assert.Equal("0000000000000000", status["CapBnd"]);
                // Its own PID namespace, where the jail's init is 1 and QEMU its child.
                Assert.Equal($"{pid}\t2", status["NSpid"]);
                Assert.Contains($"wrenn:{fixture.Owner}:{sandbox.SandboxId}", File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '));

                // Its root is not the host's: only what it needs is there.
                var root = $"/proc/{pid}/root";
                Assert.NotEqual(Identity("/"), Identity(root + "/"));
                Assert.False(File.Exists(root + "/etc/shadow"), "the host's /etc is visible in the jail");
                Assert.False(Directory.Exists(root + "/home") || Directory.Exists(root + "/root") || Directory.Exists(root + "/proc") || Directory.Exists(root + "/sys"));
                Assert.Equal(["null", "urandom"], Directory.EnumerateFileSystemEntries(root + "/dev").Select(Path.GetFileName).Order());
                Assert.Equal([sandbox.SandboxId], Directory.EnumerateDirectories(root + Path.GetDirectoryName(sandbox.WorkDir)).Select(Path.GetFileName));
                Assert.True(File.Exists(root + sandbox.Disk.Path) && File.Exists(root + fixture.Image.Kernel.KernelPath));
                Assert.False(File.Exists(root + "/usr/bin/ip") || File.Exists(root + "/bin/sh"), "the jail holds programs QEMU does not need");
                // Read-only: its fresh root, and what it was lent of the host's (opened for writing, nothing written).
                await Assert.ThrowsAnyAsync<IOException>(() => File.WriteAllTextAsync(root + "/wt-jail-test", "x"));
                Assert.ThrowsAny<IOException>(() => new FileStream(root + "/usr/share/qemu/bios-microvm.bin", FileMode.Open, FileAccess.Write).Dispose());

                // Its cgroup holds it, limits it, and is its sandbox's.
                var cgroups = File.ReadAllLines($"/proc/{pid}/cgroup");
                foreach (var controller in new[] { "cpu", "cpuacct", "memory", "pids" })
                    Assert.Contains(cgroups, line => line.Split(':')[1] == controller && line.EndsWith($"/wrenn/{fixture.Owner}-{sandbox.SandboxId}", StringComparison.Ordinal));
                var options = new QemuOptions();
                Assert.Equal((256L + options.MemoryOverheadMib) * 1024 * 1024, ReadNumber(fixture.Vmm.Jails.CgroupOf(jail, "memory")!, "memory.limit_in_bytes"));
                Assert.Equal(100_000, ReadNumber(fixture.Vmm.Jails.CgroupOf(jail, "cpu")!, "cpu.cfs_quota_us"));
                Assert.Equal(options.Jail.Pids, ReadNumber(fixture.Vmm.Jails.CgroupOf(jail, "pids")!, "pids.max"));
                Assert.Contains(pid, File.ReadAllLines(Path.Combine(fixture.Vmm.Jails.CgroupOf(jail, "pids")!, "cgroup.procs")).Select(int.Parse));

                // Its disk is its own uid's while it runs; the base image under it stays root's.
                Assert.Equal(jail.Uid, Owner(sandbox.Disk.Path));
                Assert.Equal(0, Owner(fixture.Image.RootFilesystem.Path));
                Assert.Equal(jail.Uid, Owner(sandbox.WorkDir));
                Assert.True(File.Exists(Path.Combine(Jails.LeaseDirectory(fixture.Host), jail.Uid.ToString(CultureInfo.InvariantCulture))));
            });
        }
        finally
        {
            await fixture.Vms.DestroyAsync(sandbox, CancellationToken.None);
        }
        // Destroy ends the jail: its cgroup and its uid lease are gone.
        Assert.All(jail.Cgroups, folder => Assert.False(Directory.Exists(folder), $"{folder} is left"));
        Assert.False(File.Exists(Path.Combine(Jails.LeaseDirectory(fixture.Host), jail.Uid.ToString(CultureInfo.InvariantCulture))), "the uid lease is left");
    }

    [Fact]
    public async Task A_CPU_hog_in_the_guest_uses_no_more_than_its_quota_by_the_cgroups_own_accounting()
    {
        // Half a CPU per vCPU, so that the guest's hog would take more if the quota did not hold it.
        var vmm = new QemuVmm(Options.Create(new QemuOptions { Jail = new JailOptions { CpuPerVcpu = 0.5 } }), fixture.Host, NullLogger<QemuVmm>.Instance);
        var vms = new SandboxVms(vmm, fixture.Storage, fixture.Network, fixture.Host, NullLogger<SandboxVms>.Instance);
        SandboxVm sandbox;
        using (await MachineGate.EnterAsync())
            sandbox = await vms.CreateAsync(Grains.Ids.SandboxId.New().ToString(), fixture.Image, new VmSize(1, 256), Ct);
        try
        {
            var jail = vmm.JailOf(sandbox.Vm);
            Assert.Equal(50_000, ReadNumber(vmm.Jails.CgroupOf(jail, "cpu")!, "cpu.cfs_quota_us"));
            using var agent = sandbox.Agent();
            await agent.ExecAsync("sh", ["-c", "setsid sh -c 'while :; do :; done' >/dev/null 2>&1 &"], Ct);
            await Task.Delay(TimeSpan.FromSeconds(1), Ct);
            var before = vmm.Jails.Usage(jail);
            var started = DateTime.UtcNow;
            await Task.Delay(TimeSpan.FromSeconds(10), Ct);
            var after = vmm.Jails.Usage(jail);
            var elapsed = DateTime.UtcNow - started;

            var used = TimeSpan.FromTicks((after.CpuNanoseconds - before.CpuNanoseconds) / 100);
            var allowed = elapsed * 0.5 * 1.10;
            output.WriteLine($"CPU used {used.TotalSeconds:0.000} s in {elapsed.TotalSeconds:0.000} s, throttled {after.Throttled - before.Throttled} periods");
            Assert.True(used <= allowed, $"the VM used {used.TotalSeconds:0.00} s of CPU in {elapsed.TotalSeconds:0.0} s; its quota allows {allowed.TotalSeconds:0.00} s (+10 %)");
            Assert.True(after.Throttled > before.Throttled, "the quota never held the VM back: the hog did not run, or no quota is set");
        }
        finally
        {
            await vms.DestroyAsync(sandbox, CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_paused_sandboxs_files_go_back_to_root_and_its_uid_is_free_until_it_resumes_under_a_new_jail()
    {
        var vms = fixture.Plugins.WithSnapshots(NullLoggerFactory.Instance);
        SandboxVm sandbox;
        using (await MachineGate.EnterAsync())
            sandbox = await vms.CreateAsync(Grains.Ids.SandboxId.New().ToString(), fixture.Image, new VmSize(1, 256), Ct);
        PausedSandboxVm? paused = null;
        try
        {
            var jail = fixture.Vmm.JailOf(sandbox.Vm);
            var memory = sandbox.Memory!.Path!;
            Assert.Equal(jail.Uid, Owner(memory));
            using (await MachineGate.EnterAsync())
                paused = await vms.PauseAsync(sandbox, Ct);
            Assert.Equal(0, Owner(memory));
            Assert.Equal(0, Owner(paused.Disk.Path));
            Assert.Equal(0, Owner(paused.Snapshot.StateFile));
            Assert.DoesNotContain(fixture.Vmm.Jails.OwnedBy(fixture.Owner), j => j.SandboxId == sandbox.SandboxId);

            using (await MachineGate.EnterAsync())
                sandbox = await vms.ResumeAsync(paused, fixture.Image, Ct);
            paused = null;
            var resumed = fixture.Vmm.JailOf(sandbox.Vm);
            Assert.True(resumed.Jailed);
            Assert.Equal(resumed.Uid, Owner(memory));
            Assert.Equal("2", Status(sandbox.Vm.Pid)["Seccomp"]);
            using var agent = sandbox.Agent();
            Assert.Equal(0, (await agent.ExecAsync("true", null, Ct)).ExitCode);
        }
        finally
        {
            if (paused is not null)
                await vms.DestroyPausedAsync(paused, CancellationToken.None);
            else
                await vms.DestroyAsync(sandbox, CancellationToken.None);
        }
    }

    private static Dictionary<string, string> Status(int pid) =>
        File.ReadAllLines($"/proc/{pid}/status").Select(line => line.Split(':', 2)).ToDictionary(p => p[0], p => p[1].Trim());

    private static (long Device, long Inode) Identity(string path)
    {
        var text = HostCommand.RunAsync("stat", ["-L", "-c", "%d %i", path], CancellationToken.None).GetAwaiter().GetResult().Trim().Split(' ');
        return (long.Parse(text[0], CultureInfo.InvariantCulture), long.Parse(text[1], CultureInfo.InvariantCulture));
    }

    private static int Owner(string path) =>
        int.Parse(HostCommand.RunAsync("stat", ["-L", "-c", "%u", path], CancellationToken.None).GetAwaiter().GetResult().Trim(), CultureInfo.InvariantCulture);

    private static long ReadNumber(string folder, string file) => long.Parse(File.ReadAllText(Path.Combine(folder, file)).Trim(), CultureInfo.InvariantCulture);
}
