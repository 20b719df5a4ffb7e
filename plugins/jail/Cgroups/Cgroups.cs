using System.Globalization;

namespace Wrenn.Plugins.Jail.Cgroups;

/// <summary>What a sandbox's cgroup allows: CPU time (in CPUs), memory (bytes) and processes plus threads.</summary>
public sealed record CgroupLimits(double CpuCores, long MemoryBytes, int Pids);

/// <summary>A cgroup's own accounting.</summary>
/// <param name="CpuNanoseconds">CPU time its processes used.</param>
/// <param name="Throttled">How many periods its CPU quota held it back.</param>
/// <param name="MemoryBytes">The memory charged to it now.</param>
public sealed record CgroupUsage(long CpuNanoseconds, long Throttled, long MemoryBytes);

/// <summary>
/// Where sandbox cgroups live and how their limits are written: cgroup v1 (a hierarchy per
/// controller, as on this project's CI machines) or v2 (one unified tree). A sandbox's cgroup is
/// <c>{parent}/{owner}-{sandbox}</c> in every hierarchy it uses.
/// </summary>
public abstract class CgroupHierarchy(string parent)
{
    /// <summary>The CFS period quotas are expressed against.</summary>
    public const int PeriodMicroseconds = 100_000;

    protected string Parent { get; } = parent;

    /// <summary>Creates the sandbox's cgroup (idempotent) and returns its folders.</summary>
    public abstract IReadOnlyList<string> Create(string name);

    /// <summary>Writes the limits into folders <see cref="Create"/> returned.</summary>
    public abstract void Limit(IReadOnlyList<string> folders, CgroupLimits limits);

    /// <summary>The folder of one of the sandbox's cgroups holding <paramref name="controller"/> (cpu, cpuacct, memory, pids).</summary>
    public abstract string? FolderOf(IReadOnlyList<string> folders, string controller);

    public abstract CgroupUsage Usage(IReadOnlyList<string> folders);

    /// <summary>v1 where a v1 memory hierarchy is mounted (unless <paramref name="version"/> says otherwise), else v2.</summary>
    public static CgroupHierarchy Detect(string version, string parent, string mountsFile = "/proc/self/mounts")
    {
        var mounts = File.ReadLines(mountsFile)
            .Select(line => line.Split(' '))
            .Where(fields => fields.Length >= 4)
            .Select(fields => (Type: fields[2], Point: fields[1].Replace("\\040", " ", StringComparison.Ordinal), Options: fields[3].Split(',')))
            .ToList();
        var v1 = CgroupV1.Controllers.ToDictionary(c => c, c => mounts.FirstOrDefault(m => m.Type == "cgroup" && m.Options.Contains(c)).Point);
        var unified = mounts.Where(m => m.Type == "cgroup2").Select(m => m.Point)
            .FirstOrDefault(point => File.Exists(Path.Combine(point, "cgroup.controllers")) && File.ReadAllText(Path.Combine(point, "cgroup.controllers")).Contains("memory", StringComparison.Ordinal));
        var useV1 = version == "1" || (version == "auto" && v1["memory"] is not null);
        if (useV1)
        {
            var missing = v1.Where(c => c.Value is null).Select(c => c.Key).ToList();
            if (missing.Count > 0)
                throw new JailException($"cgroup v1 lacks the {string.Join(", ", missing)} controller(s) (none mounted): mount them, use cgroup v2 (Jail:CgroupVersion), or switch the jail off (Jail:Enabled=false).");
            return new CgroupV1(v1!, parent);
        }
        return unified is not null
            ? new CgroupV2(unified, parent)
            : throw new JailException("No cgroup v2 tree with the memory controller is mounted (and no v1 hierarchy was chosen): mount cgroup2 on /sys/fs/cgroup, or switch the jail off (Jail:Enabled=false).");
    }

    protected static void Write(string folder, string file, string value)
    {
        try
        {
            File.WriteAllText(Path.Combine(folder, file), value);
        }
        catch (IOException e)
        {
            throw new JailException($"Could not write '{value}' to {Path.Combine(folder, file)}: {e.Message}", e);
        }
    }

    protected static string Quota(double cores) =>
        Math.Max(1000L, (long)Math.Round(cores * PeriodMicroseconds)).ToString(CultureInfo.InvariantCulture);

    protected static long ReadNumber(string? file) =>
        file is not null && File.Exists(file) && long.TryParse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture, out var value) ? value : 0;

    /// <summary>A field of a flat-keyed file such as cpu.stat (<c>name value</c> lines).</summary>
    protected static long ReadField(string? file, string field)
    {
        if (file is null || !File.Exists(file))
            return 0;
        foreach (var line in File.ReadLines(file))
        {
            var parts = line.Split(' ');
            if (parts.Length == 2 && parts[0] == field && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var value))
                return value;
        }
        return 0;
    }
}

/// <summary>cgroup v1: the cpu, cpuacct, memory and pids hierarchies, each mounted on its own (or co-mounted).</summary>
public sealed class CgroupV1(IReadOnlyDictionary<string, string> mountPoints, string parent) : CgroupHierarchy(parent)
{
    public static readonly IReadOnlyList<string> Controllers = ["cpu", "cpuacct", "memory", "pids"];

    public override IReadOnlyList<string> Create(string name)
    {
        var folders = Controllers.Select(c => Path.Combine(mountPoints[c], Parent, name)).Distinct().ToList();
        foreach (var folder in folders)
            Directory.CreateDirectory(folder);
        return folders;
    }

    public override void Limit(IReadOnlyList<string> folders, CgroupLimits limits)
    {
        var cpu = FolderOf(folders, "cpu")!;
        Write(cpu, "cpu.cfs_period_us", PeriodMicroseconds.ToString(CultureInfo.InvariantCulture));
        Write(cpu, "cpu.cfs_quota_us", Quota(limits.CpuCores));
        Write(FolderOf(folders, "memory")!, "memory.limit_in_bytes", limits.MemoryBytes.ToString(CultureInfo.InvariantCulture));
        Write(FolderOf(folders, "pids")!, "pids.max", limits.Pids.ToString(CultureInfo.InvariantCulture));
    }

    public override string? FolderOf(IReadOnlyList<string> folders, string controller) =>
        mountPoints.TryGetValue(controller, out var point)
            ? folders.FirstOrDefault(f => f.StartsWith(point.TrimEnd('/') + "/", StringComparison.Ordinal))
            : null;

    public override CgroupUsage Usage(IReadOnlyList<string> folders) => new(
        ReadNumber(FolderOf(folders, "cpuacct") is { } acct ? Path.Combine(acct, "cpuacct.usage") : null),
        ReadField(FolderOf(folders, "cpu") is { } cpu ? Path.Combine(cpu, "cpu.stat") : null, "nr_throttled"),
        ReadNumber(FolderOf(folders, "memory") is { } memory ? Path.Combine(memory, "memory.usage_in_bytes") : null));
}

/// <summary>cgroup v2: one tree; the cpu, memory and pids controllers are enabled down to the sandbox's cgroup.</summary>
public sealed class CgroupV2(string root, string parent) : CgroupHierarchy(parent)
{
    private const string Enable = "+cpu +memory +pids";

    public override IReadOnlyList<string> Create(string name)
    {
        // Controllers reach a cgroup only through every ancestor's subtree_control.
        var folder = root;
        Write(folder, "cgroup.subtree_control", Enable);
        foreach (var part in Parent.Split('/'))
        {
            folder = Path.Combine(folder, part);
            Directory.CreateDirectory(folder);
            Write(folder, "cgroup.subtree_control", Enable);
        }
        var own = Path.Combine(folder, name);
        Directory.CreateDirectory(own);
        return [own];
    }

    public override void Limit(IReadOnlyList<string> folders, CgroupLimits limits)
    {
        var folder = folders.Single();
        Write(folder, "cpu.max", $"{Quota(limits.CpuCores)} {PeriodMicroseconds}");
        Write(folder, "memory.max", limits.MemoryBytes.ToString(CultureInfo.InvariantCulture));
        Write(folder, "pids.max", limits.Pids.ToString(CultureInfo.InvariantCulture));
    }

    public override string? FolderOf(IReadOnlyList<string> folders, string controller) => folders.SingleOrDefault();

    public override CgroupUsage Usage(IReadOnlyList<string> folders)
    {
        var stat = Path.Combine(folders.Single(), "cpu.stat");
        return new(ReadField(stat, "usage_usec") * 1000, ReadField(stat, "nr_throttled"), ReadNumber(Path.Combine(folders.Single(), "memory.current")));
    }
}
