using Wrenn.Plugins.Jail;
using Wrenn.Plugins.Jail.Cgroups;
using Wrenn.Testing;

namespace Wrenn.Jail.Tests;

/// <summary>
/// The files a sandbox's cgroup limits are written to, for v1 (this machine's) and v2 (most hosts
/// elsewhere), into folders standing in for the cgroup trees. The real v1 tree is exercised by
/// every VM test (QemuJailTests checks the limits and the accounting).
/// </summary>
public sealed class CgroupTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory($"{TestPrefix.Family}-cgroup-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Read(params string[] path) => File.ReadAllText(Path.Combine([_folder, .. path]));

    [Fact]
    public void On_v2_the_controllers_are_enabled_down_to_the_sandboxs_cgroup_and_its_limits_written()
    {
        var v2 = new CgroupV2(_folder, "wrenn/hosts");
        var folders = v2.Create("wtaaaa-sb-1");
        Assert.Equal([Path.Combine(_folder, "wrenn", "hosts", "wtaaaa-sb-1")], folders);
        Assert.Equal("+cpu +memory +pids", Read("cgroup.subtree_control"));
        Assert.Equal("+cpu +memory +pids", Read("wrenn", "cgroup.subtree_control"));
        Assert.Equal("+cpu +memory +pids", Read("wrenn", "hosts", "cgroup.subtree_control"));

        v2.Limit(folders, new CgroupLimits(1.5, 448L * 1024 * 1024, 256));
        Assert.Equal("150000 100000", Read("wrenn", "hosts", "wtaaaa-sb-1", "cpu.max"));
        Assert.Equal((448L * 1024 * 1024).ToString(), Read("wrenn", "hosts", "wtaaaa-sb-1", "memory.max"));
        Assert.Equal("256", Read("wrenn", "hosts", "wtaaaa-sb-1", "pids.max"));

        File.WriteAllText(Path.Combine(folders[0], "cpu.stat"), "usage_usec 2500000\nuser_usec 2000000\nnr_periods 30\nnr_throttled 7\nthrottled_usec 100\n");
        File.WriteAllText(Path.Combine(folders[0], "memory.current"), "1234\n");
        Assert.Equal(new CgroupUsage(2_500_000_000, 7, 1234), v2.Usage(folders));
    }

    [Fact]
    public void On_v1_each_controller_gets_its_folder_and_its_own_files()
    {
        var points = new[] { "cpu", "cpuacct", "memory", "pids" }.ToDictionary(c => c, c => Directory.CreateDirectory(Path.Combine(_folder, c)).FullName);
        var v1 = new CgroupV1(points, "wrenn");
        var folders = v1.Create("wtaaaa-sb-1");
        Assert.Equal(4, folders.Count);

        v1.Limit(folders, new CgroupLimits(0.5, 320L * 1024 * 1024, 64));
        Assert.Equal(("100000", "50000"), (Read("cpu", "wrenn", "wtaaaa-sb-1", "cpu.cfs_period_us"), Read("cpu", "wrenn", "wtaaaa-sb-1", "cpu.cfs_quota_us")));
        Assert.Equal((320L * 1024 * 1024).ToString(), Read("memory", "wrenn", "wtaaaa-sb-1", "memory.limit_in_bytes"));
        Assert.Equal("64", Read("pids", "wrenn", "wtaaaa-sb-1", "pids.max"));
    }

    [Fact]
    public void The_version_follows_what_is_mounted_and_a_host_without_either_is_refused_with_what_to_do()
    {
        var mounts = Path.Combine(_folder, "mounts");
        File.WriteAllLines(mounts, [
            "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0",
            "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0",
            "cgroup /sys/fs/cgroup/pids cgroup rw,pids 0 0",
        ]);
        Assert.IsType<CgroupV1>(CgroupHierarchy.Detect("auto", "wrenn", mounts));

        File.WriteAllLines(mounts, ["cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0"]);
        Assert.Contains("lacks the cpu, cpuacct, pids controller(s)", Assert.Throws<JailException>(() => CgroupHierarchy.Detect("auto", "wrenn", mounts)).Message);

        var unified = Directory.CreateDirectory(Path.Combine(_folder, "unified")).FullName;
        File.WriteAllText(Path.Combine(unified, "cgroup.controllers"), "cpuset cpu io memory pids\n");
        File.WriteAllLines(mounts, [$"cgroup2 {unified} cgroup2 rw,nsdelegate 0 0"]);
        Assert.IsType<CgroupV2>(CgroupHierarchy.Detect("auto", "wrenn", mounts));

        File.WriteAllLines(mounts, ["proc /proc proc rw 0 0"]);
        Assert.Contains("Jail:Enabled=false", Assert.Throws<JailException>(() => CgroupHierarchy.Detect("auto", "wrenn", mounts)).Message);
    }

    [Fact]
    public void Bad_jail_settings_are_refused_each_by_its_name()
    {
        var problems = new JailOptions { FirstUid = 0, UidCount = 0, CgroupParent = "../x", CgroupVersion = "3", CpuPerVcpu = 0, Pids = 1, OpenFiles = 1 }.Problems("Wrenn:Plugins:qemu:Jail");
        Assert.Equal(7, problems.Count);
        Assert.All(problems, p => Assert.StartsWith("Wrenn:Plugins:qemu:Jail:", p));
    }
}
