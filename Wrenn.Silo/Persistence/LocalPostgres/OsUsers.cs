using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Wrenn.Silo.Persistence.LocalPostgres;

/// <summary>Running programs as another OS user and handing files to it (the silo runs as root).</summary>
internal static partial class OsUsers
{
    public const int SigInt = 2;

    public const int SigKill = 9;

    public static (uint Uid, uint Gid) Lookup(string user)
    {
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var fields = line.Split(':');
            if (fields.Length > 3 && fields[0] == user)
                return (uint.Parse(fields[2]), uint.Parse(fields[3]));
        }
        throw new LocalPostgresException($"The OS user '{user}' does not exist; PostgreSQL refuses to run as root and needs it (apt install postgresql creates it).");
    }

    public static void Chown(string path, uint uid, uint gid)
    {
        if (chown(path, uid, gid) != 0)
            throw new LocalPostgresException($"chown {path} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>PostgreSQL must reach its folder: every folder above it needs o+x (mktemp -d makes 0700 folders).</summary>
    public static void AllowTraverse(string path)
    {
        for (var dir = Path.GetFullPath(path); dir is not null && dir != "/"; dir = Path.GetDirectoryName(dir))
        {
            var mode = File.GetUnixFileMode(dir);
            if (!mode.HasFlag(UnixFileMode.OtherExecute))
                File.SetUnixFileMode(dir, mode | UnixFileMode.OtherExecute);
        }
    }

    public static ProcessStartInfo StartInfoAs(string user, string program, IEnumerable<string> args, bool pdeathsigKill)
    {
        var start = new ProcessStartInfo("setpriv") { UseShellExecute = false };
        foreach (var a in (string[])["--reuid", user, "--regid", user, "--init-groups"])
            start.ArgumentList.Add(a);
        if (pdeathsigKill)
        {
            start.ArgumentList.Add("--pdeathsig");
            start.ArgumentList.Add("KILL");
        }
        start.ArgumentList.Add("--");
        start.ArgumentList.Add(program);
        foreach (var a in args)
            start.ArgumentList.Add(a);
        start.WorkingDirectory = "/";
        return start;
    }

    public static async Task<(int ExitCode, string Output)> RunAsAsync(string user, string program, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var start = StartInfoAs(user, program, args, pdeathsigKill: false);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, (await stdout) + (await stderr));
    }

    public static void Signal(int pid, int signal) => _ = kill(pid, signal);

    /// <summary>
    /// SIGKILL to a process and then to the children it had, with no SIGSTOP first. Process.Kill(entireProcessTree)
    /// stops each process before killing it, one by one; when the caller is itself killed halfway (a test
    /// host at exit) the rest stay stopped for ever, and a stopped PostgreSQL child never notices that its
    /// postmaster died. Any child missed here is not stopped, so it exits on its postmaster's death.
    /// </summary>
    public static void KillWithChildren(int pid)
    {
        var children = ChildrenOf(pid);
        Signal(pid, SigKill);
        foreach (var child in children)
            Signal(child, SigKill);
    }

    private static List<int> ChildrenOf(int parent)
    {
        var children = new List<int>();
        foreach (var dir in System.IO.Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            try
            {
                // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after its ')'.
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) == parent)
                    children.Add(pid);
            }
            catch (IOException)
            {
                // Ended while we looked.
            }
        }
        return children;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chown(string path, uint owner, uint group);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
