using System.Globalization;
using System.Runtime.InteropServices;

namespace Wrenn.Plugins.Jail.Cgroups;

/// <summary>
/// Finds and ends everything a sandbox started, by its cgroup folders alone (v1 or v2 alike), so
/// that whoever frees a jail (the VMM plugin, the reconciler of a restarted silo, a test sweep)
/// needs nothing else: nothing a jailed process forks can leave its cgroup.
/// </summary>
public static partial class CgroupProcesses
{
    /// <summary>Every process in any of the folders.</summary>
    public static IReadOnlyList<int> In(IEnumerable<string> folders)
    {
        var pids = new SortedSet<int>();
        foreach (var folder in folders)
        {
            try
            {
                foreach (var line in File.ReadLines(Path.Combine(folder, "cgroup.procs")))
                {
                    if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                        pids.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone already.
            }
        }
        return [.. pids];
    }

    /// <summary>
    /// SIGKILLs everything in the folders until they are empty (cgroup.kill where v2 has it), then
    /// removes them. Throws when something outlives <paramref name="timeout"/> (a process stuck in
    /// the kernel): the jail is then not freed, so that its uid is not handed to another sandbox.
    /// </summary>
    public static async Task KillAndRemoveAsync(IReadOnlyList<string> folders, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var existing = folders.Where(Directory.Exists).ToList();
        var deadline = DateTime.UtcNow + timeout;
        foreach (var folder in existing.Where(f => File.Exists(Path.Combine(f, "cgroup.kill"))))
            await File.WriteAllTextAsync(Path.Combine(folder, "cgroup.kill"), "1", cancellationToken);
        while (In(existing) is { Count: > 0 } left)
        {
            foreach (var pid in left)
                _ = kill(pid, 9); // ESRCH: gone meanwhile
            if (DateTime.UtcNow > deadline)
                throw new JailException($"Processes {string.Join(", ", left)} are still in {string.Join(", ", existing)} after SIGKILL for {timeout.TotalSeconds:0} s; the jail is kept until they end.");
            await Task.Delay(20, cancellationToken);
        }
        foreach (var folder in existing)
        {
            // An emptied cgroup can take a moment before it may be removed (EBUSY).
            while (true)
            {
                try
                {
                    Directory.Delete(folder);
                    break;
                }
                catch (IOException) when (Directory.Exists(folder) && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(20, cancellationToken);
                }
                catch (DirectoryNotFoundException)
                {
                    break;
                }
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
