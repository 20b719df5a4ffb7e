using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Abstractions.Plugins;
using Wrenn.Plugins.Jail;
using Wrenn.Plugins.Jail.Cgroups;
using Wrenn.Plugins.Jail.Roots;
using Wrenn.Testing;

namespace Wrenn.Jail.Tests;

/// <summary>
/// The launcher, for real and without a VM: a static busybox shell started in a jail reports what
/// it sees and what it is; the host checks the same from outside.
/// </summary>
public sealed class JailLauncherTests : IAsyncLifetime
{
    private const string Busybox = "/bin/busybox";
    private string _owner = "";
    private PluginHost _host = null!;
    private string _work = "";
    private string _lent = "";

    public async Task InitializeAsync()
    {
        await HostSweep.RemoveLeftoversAsync();
        _owner = TestPrefix.NewOwner();
        _host = new PluginHost(_owner, $"/run/wrenn/{_owner}-data", $"/run/wrenn/{_owner}", "/run/wrenn", "/var/cache/wrenn");
        _work = Directory.CreateDirectory(Path.Combine(_host.RuntimeDir, "work")).FullName;
        _lent = Path.Combine(Directory.CreateDirectory(_host.DataDir).FullName, "read-only.txt");
        await File.WriteAllTextAsync(_lent, "lent\n");
    }

    public async Task DisposeAsync()
    {
        await Jails.ReleaseOrphansAsync(_host.MachineRuntimeDir, _owner, _ => false, NullLogger.Instance, CancellationToken.None);
        foreach (var dir in new[] { _host.DataDir, _host.RuntimeDir })
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
        TestPrefix.Retire(_owner);
    }

    private Jails NewJails(JailOptions? options = null) => new(options ?? new JailOptions(), _host, NullLogger.Instance);

    /// <summary>Runs a shell script in the jail; it reports, then sleeps until the jail is released.</summary>
    private static JailedProgram Shell(string script, JailRoot root, string log) =>
        new(Busybox, ["sh", "-c", script + "\necho done\nexec busybox sleep 600"], root, log, FileSizeLimit: 1024 * 1024);

    private static async Task<string> WaitForDoneAsync(string log)
    {
        for (var i = 0; i < 200; i++)
        {
            if (File.Exists(log) && (await File.ReadAllTextAsync(log)).Contains("done\n", StringComparison.Ordinal))
                return await File.ReadAllTextAsync(log);
            await Task.Delay(50);
        }
        throw new Xunit.Sdk.XunitException($"the jailed shell did not finish: {(File.Exists(log) ? await File.ReadAllTextAsync(log) : "no log")}");
    }

    [Fact]
    public async Task A_jailed_program_runs_as_its_sandboxs_uid_with_no_privileges_limits_and_only_the_paths_it_was_given()
    {
        var jails = NewJails();
        var jail = jails.Acquire("sb-launcher-1");
        jails.Limit(jail, jails.LimitsFor(1, 64L * 1024 * 1024));
        var log = Path.Combine(_host.RuntimeDir, "shell.log");
        var root = new JailRoot().Writable(_work).ReadOnly(_lent).WithProc().Device("/dev/null");
        var started = await jails.StartAsync(jail, Shell($"""
            echo "ids $(busybox id -u) $(busybox id -g) $(busybox id -G)"
            echo "pid $$"
            busybox grep -E '^(NoNewPrivs|CapEff|CapBnd|Seccomp):' /proc/self/status
            busybox grep -E '^Max (open files|file size)' /proc/self/limits
            echo "root $(busybox ls -A / | busybox tr '\n' ' ')"
            echo "lent $(busybox cat {_lent})"
            echo x > {_lent} 2>/dev/null && echo "lent written" || echo "lent read-only"
            echo mine > {_work}/written && echo "work written"
            busybox ls /etc/shadow >/dev/null 2>&1 && echo "host /etc seen" || echo "no host /etc"
            """, root, log), CancellationToken.None);
        var output = await WaitForDoneAsync(log);

        Assert.Contains($"ids {jail.Uid} {jail.Gid} {jail.Gid}\n", output); // no supplementary groups
        Assert.Contains("pid 2\n", output); // the jail's init is PID 1 of a namespace of its own
        Assert.Matches(@"NoNewPrivs:\s+1", output);
        Assert.Matches(@"CapEff:\s+0000000000000000", output);
        Assert.Matches(@"CapBnd:\s+0000000000000000", output);
        Assert.Matches(@"Max open files\s+1024\s+1024", output);
        Assert.Matches(@"Max file size\s+1048576\s+1048576", output);
        // Only what was given: busybox (at /usr/bin, with the /bin link of a merged-/usr host), the two paths, /dev/null and /proc.
        var top = output.Split('\n').Single(l => l.StartsWith("root ", StringComparison.Ordinal))["root ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Order();
        Assert.Equal(["bin", "dev", "proc", "run", "usr"], top);
        Assert.Contains("lent lent\n", output);
        Assert.Contains("lent read-only\n", output);
        Assert.Contains("work written\n", output);
        Assert.Contains("no host /etc\n", output);
        Assert.Equal("lent\n", await File.ReadAllTextAsync(_lent));

        // From outside: its uid owns what it wrote and the folder it was given; its cgroup holds it.
        Assert.Equal(jail.Uid, HostFiles(Path.Combine(_work, "written")));
        Assert.Equal(jail.Uid, HostFiles(_work));
        Assert.Contains(started.Pid, CgroupProcesses.In(jail.Cgroups));
        Assert.Contains(started.InitPid, CgroupProcesses.In(jail.Cgroups));

        // Released: everything in its cgroup ends, the cgroup and lease go, what it was given is root's again.
        await jails.ReleaseAsync(jail, CancellationToken.None);
        Assert.False(Alive(started.Pid) || Alive(started.InitPid), "a jailed process outlived its jail");
        Assert.All(jail.Cgroups, folder => Assert.False(Directory.Exists(folder)));
        Assert.Empty(jails.OwnedBy(_owner));
        Assert.Equal((0, 0), (HostFiles(_work), HostFiles(Path.Combine(_work, "written"))));
    }

    [Fact]
    public async Task When_the_jails_init_is_killed_its_program_ends_with_it()
    {
        var jails = NewJails();
        var jail = jails.Acquire("sb-launcher-2");
        var started = await jails.StartAsync(jail, Shell("", new JailRoot().Writable(_work), Path.Combine(_host.RuntimeDir, "init.log")), CancellationToken.None);
        Assert.True(Directory.Exists($"/proc/{started.Pid}"));
        System.Diagnostics.Process.GetProcessById(started.InitPid).Kill();
        for (var i = 0; i < 100 && Alive(started.Pid); i++)
            await Task.Delay(50);
        Assert.False(Alive(started.Pid), "the program outlived its init");
        await jails.ReleaseAsync(jail, CancellationToken.None);
    }

    [Fact]
    public async Task A_program_the_jail_cannot_run_fails_with_the_reason_and_leaves_nothing_running()
    {
        var jails = NewJails();
        var jail = jails.Acquire("sb-launcher-3");
        var program = Path.Combine(_host.DataDir, "roots-only");
        File.Copy(Busybox, program);
        File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); // root's alone
        var error = await Assert.ThrowsAsync<JailException>(() =>
            jails.StartAsync(jail, new JailedProgram(program, ["true"], new JailRoot(), Path.Combine(_host.RuntimeDir, "fail.log")), CancellationToken.None));
        Assert.Contains($"exec {program}: Permission denied", error.Message);
        Assert.Contains($"uid {jail.Uid}", error.Message);
        Assert.Empty(CgroupProcesses.In(jail.Cgroups));
        await jails.ReleaseAsync(jail, CancellationToken.None);
    }

    [Fact]
    public async Task With_jails_switched_off_the_program_runs_as_root_in_the_hosts_root_as_before()
    {
        var jails = NewJails(new JailOptions { Enabled = false });
        var jail = jails.Acquire("sb-launcher-4");
        Assert.False(jail.Jailed);
        var log = Path.Combine(_host.RuntimeDir, "off.log");
        var started = await jails.StartAsync(jail, Shell("echo \"ids $(busybox id -u)\"; busybox ls /etc/shadow >/dev/null && echo \"host /etc seen\"", new JailRoot(), log), CancellationToken.None);
        var output = await WaitForDoneAsync(log);
        Assert.Contains("ids 0\n", output);
        Assert.Contains("host /etc seen\n", output);
        Assert.Empty(jails.OwnedBy(_owner));
        System.Diagnostics.Process.GetProcessById(started.InitPid).Kill();
    }

    /// <summary>Running (an ended process waiting for its parent to reap it is not).</summary>
    private static bool Alive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static int HostFiles(string path) =>
        int.Parse(HostCommand.RunAsync("stat", ["-c", "%u", path], CancellationToken.None).GetAwaiter().GetResult().Trim(), CultureInfo.InvariantCulture);
}
