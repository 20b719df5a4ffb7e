using System.Globalization;

namespace Wrenn.Plugins.Vmm.Qemu;

/// <summary>Facts about a VMM process from /proc: alive, and the same process (pids are reused).</summary>
public static partial class VmProcess
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

    /// <summary>
    /// The owner and sandbox of a Wrenn QEMU (<c>-name wrenn:{owner}:{sandbox},…</c>), or null for
    /// any other process. Only the emulator itself counts, not the jail's init, whose command line
    /// carries QEMU's.
    /// </summary>
    public static (string Owner, string SandboxId)? QemuName(string[] args)
    {
        if (args.Length == 0 || !Path.GetFileName(args[0]).StartsWith("qemu-system", StringComparison.Ordinal))
            return null;
        var nameAt = Array.IndexOf(args, "-name");
        if (nameAt < 0 || nameAt + 1 >= args.Length)
            return null;
        var name = args[nameAt + 1].Split(',')[0].Split(':');
        return name.Length == 3 && name[0] == "wrenn" ? (name[1], name[2]) : null;
    }

    public static IEnumerable<int> All() =>
        Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Select(name => int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
            .Where(pid => pid > 0);

    /// <summary>Sends a signal; a process that is gone already is no error.</summary>
    public static void Kill(int pid, int signal) => _ = kill(pid, signal);

    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
