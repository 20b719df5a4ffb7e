using Wrenn.Abstractions.Plugins;

namespace Wrenn.Testing;

/// <summary>
/// Removes host objects that test runs left behind when they crashed: network namespaces, links,
/// nftables tables, slot files, jails (their cgroups, processes and uid leases) and QEMU processes
/// whose names carry a "wt" owner prefix whose process is gone. Objects of live test processes (other test assemblies run at the same time)
/// are left alone.
/// </summary>
public static class HostSweep
{
    private static readonly SemaphoreSlim OnePerProcess = new(1, 1);

    public static async Task RemoveLeftoversAsync(CancellationToken cancellationToken = default)
    {
        await OnePerProcess.WaitAsync(cancellationToken);
        try
        {
            await SweepQemuAsync();
            await SweepJailsAsync(cancellationToken);
            await SweepNamespacesAsync(cancellationToken);
            await SweepLinksAsync(cancellationToken);
            await SweepNftAsync(cancellationToken);
            SweepSlotFiles();
            await SweepMountsAsync(cancellationToken);
            await SweepLoopDevicesAsync(cancellationToken);
            SweepFolders();
            SweepOwnerFiles();
        }
        finally
        {
            OnePerProcess.Release();
        }
    }

    /// <summary>The owner prefix at the start of a name ("wt" + 4 characters), or null.</summary>
    private static string? OwnerOf(string name) =>
        name.Length >= 6 && name.StartsWith(TestPrefix.Family, StringComparison.Ordinal) ? name[..6] : null;

    private static bool Leaked(string name) => OwnerOf(name) is { } owner && !TestPrefix.IsLive(owner);

    private static async Task SweepQemuAsync()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            string[] args;
            try
            {
                args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
            }
            catch (IOException)
            {
                continue;
            }
            var nameAt = Array.IndexOf(args, "-name");
            if (nameAt < 0 || nameAt + 1 >= args.Length || !args[0].Contains("qemu", StringComparison.Ordinal))
                continue;
            var name = args[nameAt + 1].Split(',')[0].Split(':');
            if (name.Length == 3 && name[0] == "wrenn" && Leaked(name[1]))
            {
                try
                {
                    System.Diagnostics.Process.GetProcessById(pid).Kill();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    // gone already
                }
            }
        }
        await Task.Delay(100);
    }

    /// <summary>
    /// Jails of dead owners, through the same release the reconciler uses (their leases name their
    /// cgroups and the paths they were given), then cgroups whose lease never got written.
    /// </summary>
    private static async Task SweepJailsAsync(CancellationToken ct)
    {
        var leases = Path.Combine("/run/wrenn", "jail-uids");
        if (Directory.Exists(leases))
        {
            var owners = Directory.EnumerateFiles(leases)
                .Select(file => { try { return System.Text.Json.JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("owner").GetString(); } catch (Exception) { return null; } })
                .OfType<string>().Where(Leaked).Distinct().ToList();
            foreach (var owner in owners)
                await Wrenn.Plugins.Jail.Jails.ReleaseOrphansAsync("/run/wrenn", owner, _ => false, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, ct);
        }
        var parents = Directory.EnumerateDirectories("/sys/fs/cgroup").Select(h => Path.Combine(h, "wrenn")).Append("/sys/fs/cgroup/wrenn").Where(Directory.Exists);
        var leftover = parents.SelectMany(Directory.EnumerateDirectories).Where(dir => Leaked(Path.GetFileName(dir))).ToList();
        if (leftover.Count > 0)
            await Wrenn.Plugins.Jail.Cgroups.CgroupProcesses.KillAndRemoveAsync(leftover, TimeSpan.FromSeconds(10), ct);
    }

    private static async Task SweepNamespacesAsync(CancellationToken ct)
    {
        var list = await HostCommand.RunAsync("ip", ["netns", "list"], ct);
        foreach (var line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            if (Leaked(name))
                await HostCommand.TryRunAsync("ip", ["netns", "delete", name], ct);
        }
    }

    private static async Task SweepLinksAsync(CancellationToken ct)
    {
        var list = await HostCommand.RunAsync("ip", ["-o", "link", "show"], ct);
        foreach (var line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // "7: wtab12h0@if2: <...>"
            var fields = line.Split(':', 3);
            if (fields.Length < 2)
                continue;
            var name = fields[1].Trim().Split('@')[0];
            if (Leaked(name))
                await HostCommand.TryRunAsync("ip", ["link", "delete", name], ct);
        }
    }

    private static async Task SweepNftAsync(CancellationToken ct)
    {
        var tables = await HostCommand.TryRunAsync("nft", ["list", "tables"], ct);
        foreach (var line in tables.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // "table ip wrenn_wtab12"
            var parts = line.Split(' ');
            if (parts.Length == 3 && parts[2].StartsWith("wrenn_", StringComparison.Ordinal) && Leaked(parts[2]["wrenn_".Length..]))
                await HostCommand.TryRunAsync("nft", ["delete", "table", parts[1], parts[2]], ct);
        }
    }

    private static void SweepSlotFiles()
    {
        const string slots = "/run/wrenn/net-slots";
        if (!Directory.Exists(slots))
            return;
        foreach (var file in Directory.EnumerateFiles(slots))
        {
            try
            {
                var owner = File.ReadAllText(file).Split(' ')[0];
                if (Leaked(owner))
                    File.Delete(file);
            }
            catch (IOException)
            {
                // freed meanwhile
            }
        }
    }

    /// <summary>Small tmpfs mounts that tests make under /run/wrenn to fill a disk on purpose.</summary>
    private static async Task SweepMountsAsync(CancellationToken ct)
    {
        foreach (var line in File.ReadLines("/proc/mounts"))
        {
            var mountPoint = line.Split(' ')[1];
            if (mountPoint.StartsWith("/run/wrenn/" + TestPrefix.Family, StringComparison.Ordinal) && Leaked(Path.GetFileName(mountPoint)))
            {
                await HostCommand.TryRunAsync("umount", [mountPoint], ct);
                Directory.Delete(mountPoint, recursive: true);
            }
        }
    }

    /// <summary>Loop devices over files in a dead test owner's folder (/run/wrenn/wt…/).</summary>
    private static async Task SweepLoopDevicesAsync(CancellationToken ct)
    {
        var listing = await HostCommand.TryRunAsync("losetup", ["--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"], ct);
        foreach (var line in listing.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ', 2);
            if (fields.Length == 2 && fields[1].StartsWith("/run/wrenn/" + TestPrefix.Family, StringComparison.Ordinal)
                && Leaked(fields[1]["/run/wrenn/".Length..].Split('/')[0]))
                await HostCommand.TryRunAsync("losetup", ["--detach", fields[0]], ct);
        }
    }

    /// <summary>Work and data folders of dead owners under /run/wrenn (their VMs were killed above). PostgreSQL folders are the fixture's to sweep.</summary>
    private static void SweepFolders()
    {
        if (!Directory.Exists("/run/wrenn"))
            return;
        foreach (var dir in Directory.EnumerateDirectories("/run/wrenn", TestPrefix.Family + "*"))
        {
            var name = Path.GetFileName(dir);
            if (name.EndsWith("-pg", StringComparison.Ordinal) || !Leaked(name))
                continue;
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // Still in use (a mount): the mount sweep runs first, the next run gets it.
            }
        }
    }

    private static void SweepOwnerFiles()
    {
        if (!Directory.Exists(TestPrefix.OwnersFolder))
            return;
        foreach (var file in Directory.EnumerateFiles(TestPrefix.OwnersFolder))
        {
            var owner = Path.GetFileName(file);
            if (!TestPrefix.IsLive(owner))
            {
                File.Delete(file);
                var runtimeDir = Path.Combine("/run/wrenn", owner);
                if (Directory.Exists(runtimeDir))
                    Directory.Delete(runtimeDir, recursive: true);
            }
        }
    }
}
