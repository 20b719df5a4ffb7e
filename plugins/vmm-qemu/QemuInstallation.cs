using Wrenn.Abstractions.Plugins;

namespace Wrenn.Plugins.Vmm.Qemu;

/// <summary>
/// What this host's QEMU reads besides its libraries, asked of QEMU itself once: its firmware
/// folders (<c>-L help</c>: bios-microvm.bin, linuxboot_dma.bin …), the module folder next to
/// the binary (accel-tcg-x86_64.so is a module in Debian's build), and whether its file memory
/// backend can map a read-only file privately (<c>rom=off</c>, QEMU 8.2 and later).
/// </summary>
/// <param name="Binary">The emulator, a full path.</param>
/// <param name="DataFolders">Its firmware folders.</param>
/// <param name="ModuleFolders">Where its loadable modules are.</param>
/// <param name="MapsReadOnlyFilesPrivately">
/// Whether <c>memory-backend-file</c> has <c>rom</c>: with <c>readonly=on,rom=off</c> a jailed QEMU
/// maps a template's memory file it may only read, copy-on-write. QEMU 7.2 opens a backing file
/// read-write even for a private mapping, which a jail that must not change the template forbids.
/// </param>
public sealed record QemuInstallation(string Binary, IReadOnlyList<string> DataFolders, IReadOnlyList<string> ModuleFolders, bool MapsReadOnlyFilesPrivately)
{
    public static async Task<QemuInstallation> ProbeAsync(string binary, CancellationToken cancellationToken)
    {
        var data = await HostCommand.TryRunAsync(binary, ["-L", "help"], cancellationToken);
        var dataFolders = data.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.StartsWith('/')).Select(line => Path.GetFullPath(line)).Where(Directory.Exists).Distinct().ToList();
        var bin = Path.GetDirectoryName(binary)!;
        var modules = new[] { "lib/x86_64-linux-gnu/qemu", "lib64/qemu", "lib/qemu" }
            .Select(relative => Path.GetFullPath(Path.Combine(bin, "..", relative))).Where(Directory.Exists).ToList();
        var backend = await HostCommand.TryRunAsync(binary, ["-object", "memory-backend-file,help"], cancellationToken);
        return new QemuInstallation(binary, dataFolders, modules, backend.Stdout.Contains("rom=", StringComparison.Ordinal));
    }
}
