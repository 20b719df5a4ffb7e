using Microsoft.Extensions.Options;

namespace Wrenn.Plugins.Jail;

/// <summary>
/// How VMM processes are jailed (<c>Wrenn:Plugins:{plugin}:Jail</c>; every plugin that jails reads
/// its own section, and the uid range and cgroup parent should be the same in all of them).
/// </summary>
public sealed class JailOptions
{
    /// <summary>
    /// On by default. Off runs VMMs as root with the host's filesystem in view and no cgroup, as Wrenn
    /// did before jails: only for benchmarks and hosts that cannot have namespaces or cgroups.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The first uid (and gid) of the range sandboxes get theirs from; far above ordinary and subordinate ids.</summary>
    public int FirstUid { get; set; } = 1_000_000_000;

    /// <summary>How many uids the range holds: the most sandboxes the machine runs at once.</summary>
    public int UidCount { get; set; } = 65536;

    /// <summary>The cgroup (under each hierarchy's root) that sandboxes' cgroups go in.</summary>
    public string CgroupParent { get; set; } = "wrenn";

    /// <summary><c>auto</c> (v1 when a v1 memory hierarchy is mounted, else v2), <c>1</c> or <c>2</c>.</summary>
    public string CgroupVersion { get; set; } = "auto";

    /// <summary>CPU time a sandbox may use per vCPU, in CPUs (1 = one full core per vCPU).</summary>
    public double CpuPerVcpu { get; set; } = 1.0;

    /// <summary>Processes and threads a sandbox's jail may hold at once (QEMU alone runs up to ~70 threads under I/O).</summary>
    public int Pids { get; set; } = 256;

    /// <summary>Open files per process in the jail (RLIMIT_NOFILE).</summary>
    public int OpenFiles { get; set; } = 1024;

    /// <summary>The problems with these options, each naming its setting under <paramref name="section"/>.</summary>
    public IReadOnlyList<string> Problems(string section)
    {
        var problems = new List<string>();
        if (FirstUid < 65536)
            problems.Add($"{section}:FirstUid must be at least 65536 (below are users and system accounts), got {FirstUid}.");
        if (UidCount < 1 || (long)FirstUid + UidCount > int.MaxValue)
            problems.Add($"{section}:UidCount must be at least 1 and FirstUid + UidCount at most {int.MaxValue}, got {UidCount}.");
        if (string.IsNullOrEmpty(CgroupParent) || CgroupParent.Split('/').Any(part => part is "" or "." or ".."))
            problems.Add($"{section}:CgroupParent must be a relative cgroup path such as 'wrenn', got '{CgroupParent}'.");
        if (CgroupVersion is not ("auto" or "1" or "2"))
            problems.Add($"{section}:CgroupVersion must be auto, 1 or 2, got '{CgroupVersion}'.");
        if (!(CpuPerVcpu > 0 && CpuPerVcpu <= 64))
            problems.Add($"{section}:CpuPerVcpu must be above 0 and at most 64, got {CpuPerVcpu}.");
        if (Pids < 16)
            problems.Add($"{section}:Pids must be at least 16, got {Pids}.");
        if (OpenFiles < 64)
            problems.Add($"{section}:OpenFiles must be at least 64, got {OpenFiles}.");
        return problems;
    }

    /// <summary>Throws naming every bad setting; what the plugins call at start.</summary>
    public void Validate(string section)
    {
        if (Problems(section) is { Count: > 0 } problems)
            throw new OptionsValidationException(section, typeof(JailOptions), problems);
    }
}
