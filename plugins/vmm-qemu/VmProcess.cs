using System.Globalization;

namespace Wrenn.Plugins.Vmm.Qemu;

/// <summary>Facts about a VMM process from /proc: alive, and the same process (pids are reused).</summary>
public static class VmProcess
{
    /// <summary>The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or null if it is gone.</summary>
    public static string? StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields[0] == "Z" ? null : fields[19];
        }
        catch (IOException)
        {
            return null;
        }
    }

    public static bool IsSame(int pid, string? startTime) => startTime is not null && StartTime(pid) == startTime;

    /// <summary>The NUL-separated arguments of a process, or empty if it is gone.</summary>
    public static string[] CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (IOException)
        {
            return [];
        }
    }

    public static IEnumerable<int> All() =>
        Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Select(name => int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
            .Where(pid => pid > 0);
}
