using System.Collections.Concurrent;
using Wrenn.Abstractions.Plugins;

namespace Wrenn.Plugins.Jail.Roots;

/// <summary>
/// The read-only system paths a program needs to start: the folders its shared libraries are in
/// and its loader, as <c>ldd</c> lists them on this host (QEMU links some 80 libraries, all in the
/// multiarch folder), plus the loader's cache. Found once per program, not guessed: a host with
/// libraries elsewhere gets those folders.
/// </summary>
public static class SystemFolders
{
    private static readonly ConcurrentDictionary<string, IReadOnlyList<string>> Known = new(StringComparer.Ordinal);

    public static async Task<IReadOnlyList<string>> ForAsync(string program, CancellationToken cancellationToken)
    {
        if (Known.TryGetValue(program, out var known))
            return known;
        var result = await HostCommand.TryRunAsync("ldd", [program], cancellationToken);
        var paths = new SortedSet<string>(StringComparer.Ordinal) { program };
        // A static program (Firecracker's musl build): "not a dynamic executable", nothing to add.
        if (result.ExitCode == 0)
        {
            foreach (var line in result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                // "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x…)", "/lib64/ld-linux-x86-64.so.2 (0x…)", "linux-vdso.so.1 (0x…)"
                var library = line.Contains("=>", StringComparison.Ordinal) ? line[(line.IndexOf("=>", StringComparison.Ordinal) + 2)..].Trim() : line;
                library = library.Split(' ')[0];
                if (library.StartsWith('/') && File.Exists(library))
                    paths.Add(line.Contains("=>", StringComparison.Ordinal) ? Path.GetDirectoryName(library)! : library);
            }
            if (File.Exists("/etc/ld.so.cache"))
                paths.Add("/etc/ld.so.cache");
        }
        IReadOnlyList<string> list = [.. paths];
        Known[program] = list;
        return list;
    }
}
