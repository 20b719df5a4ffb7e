namespace Wrenn.Silo.Metrics;

/// <summary>
/// A process as the host kernel counts it: its CPU time (all its threads, /proc/PID/stat) and its
/// proportional set size (/proc/PID/smaps_rollup: shared pages split among the processes that map
/// them, so the PSS of many VMMs adds up to what they really use). Read from /proc whatever the
/// VMM plugin or a cgroup around it does.
/// </summary>
public sealed record ProcessStats(long CpuTicks, long PssKib, long StartTicks)
{
    /// <summary>The kernel's USER_HZ, the unit of /proc/PID/stat times.</summary>
    public const int TicksPerSecond = 100;

    /// <summary>The process's numbers, or null when it is gone (or not readable).</summary>
    public static ProcessStats? Read(int pid, string procRoot = "/proc")
    {
        try
        {
            var stat = File.ReadAllText(Path.Combine(procRoot, pid.ToString(), "stat"));
            // "pid (comm) state ppid …": comm may hold spaces and parentheses, so fields count from the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // Fields 14 (utime), 15 (stime) and 22 (starttime) of proc(5); fields[0] is field 3.
            var cpu = long.Parse(fields[11]) + long.Parse(fields[12]);
            var start = long.Parse(fields[19]);
            return new ProcessStats(cpu, ReadPssKib(Path.Combine(procRoot, pid.ToString(), "smaps_rollup")), start);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    private static long ReadPssKib(string smapsRollup)
    {
        foreach (var line in File.ReadLines(smapsRollup))
        {
            if (line.StartsWith("Pss:", StringComparison.Ordinal))
                return long.Parse(line["Pss:".Length..].Trim().Split(' ')[0]);
        }
        return 0;
    }
}
