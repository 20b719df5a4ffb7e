using System.Diagnostics;
using System.Security.Cryptography;
using Wrenn.Abstractions.Plugins;

namespace Wrenn.Abstractions.Testing;

/// <summary>
/// What a kit test gives the plugin: a fresh owner prefix and folders of its own under /run/wrenn
/// (short, for Unix sockets), and what it checks afterwards: files, loop devices and mapper
/// devices the plugin left behind. Disposing removes the folders.
/// </summary>
public sealed class KitHost : IDisposable
{
    private KitHost(string ownerPrefix, string root)
    {
        Root = root;
        Host = new PluginHost(ownerPrefix, Path.Combine(root, "data"), Path.Combine(root, "run"), "/run/wrenn", Path.Combine(root, "cache"));
        Directory.CreateDirectory(Host.DataDir);
        Directory.CreateDirectory(Host.RuntimeDir);
        Directory.CreateDirectory(Host.CacheDir);
        Directory.CreateDirectory(Scratch);
    }

    /// <summary>The folder that holds everything of this test (<c>/run/wrenn/{owner}-kit</c>).</summary>
    public string Root { get; }

    /// <summary>What the plugin under test is given.</summary>
    public PluginHost Host { get; }

    /// <summary>The kit's own files (base images, templates), apart from the plugin's folders.</summary>
    public string Scratch => Path.Combine(Root, "kit");

    public static KitHost Create(string ownerPrefix)
    {
        HostObjectNames.ValidateOwnerPrefix(ownerPrefix);
        return new KitHost(ownerPrefix, Path.Combine("/run/wrenn", $"{ownerPrefix}-kit"));
    }

    /// <summary>A random owner prefix of the longest length allowed (so names are tested at their limit).</summary>
    public static string RandomOwnerPrefix() =>
        "k" + string.Concat(RandomNumberGenerator.GetItems("abcdefghijklmnopqrstuvwxyz0123456789".AsSpan(), HostObjectNames.MaxOwnerPrefixLength - 1));

    /// <summary>A sandbox id in the silo's wire format (<c>sb-</c> and a UUID), as long as the silo's are.</summary>
    public static string NewSandboxId() => $"sb-{Guid.NewGuid()}";

    /// <summary>Files under the plugin's data and runtime folders (the plugin's, not the kit's).</summary>
    public IReadOnlyList<string> PluginFiles(PluginHost? host = null)
    {
        host ??= Host;
        return new[] { host.DataDir, host.RuntimeDir }.Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories)).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Everything the plugin may have left: files in its folders, loop devices over files of this test, mapper devices with the owner prefix.</summary>
    public async Task<IReadOnlyList<string>> LeftoversAsync(PluginHost? host = null)
    {
        var left = PluginFiles(host).Select(f => $"file {f}").ToList();
        left.AddRange((await LoopDevicesAsync()).Select(l => $"loop device {l}"));
        if (Directory.Exists("/dev/mapper"))
            left.AddRange(Directory.EnumerateFileSystemEntries("/dev/mapper").Where(m => Path.GetFileName(m).StartsWith(Host.OwnerPrefix, StringComparison.Ordinal)).Select(m => $"mapper device {m}"));
        return left;
    }

    /// <summary>Loop devices backed by files under <see cref="Root"/>.</summary>
    public async Task<IReadOnlyList<string>> LoopDevicesAsync()
    {
        var listing = await HostCommand.TryRunAsync("losetup", ["--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"], CancellationToken.None);
        return listing.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', 2)).Where(f => f.Length == 2 && f[1].StartsWith(Root, StringComparison.Ordinal)).Select(f => f[0]).ToList();
    }

    /// <summary>A folder that holds at most <paramref name="bytes"/> (a tmpfs), to make a plugin run out of space; unmounted by the returned handle.</summary>
    public async Task<IAsyncDisposable> TinyFolderAsync(string path, int bytes)
    {
        Directory.CreateDirectory(path);
        await HostCommand.RunAsync("mount", ["-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", path], CancellationToken.None);
        return new Unmount(path);
    }

    private sealed class Unmount(string path) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await HostCommand.TryRunAsync("umount", [path], CancellationToken.None);
            Directory.Delete(path, recursive: true);
        }
    }

    public void Dispose()
    {
        foreach (var loop in LoopDevicesAsync().GetAwaiter().GetResult())
            HostCommand.TryRunAsync("losetup", ["--detach", loop], CancellationToken.None).GetAwaiter().GetResult();
        if (Directory.Exists(Root))
            Directory.Delete(Root, recursive: true);
    }

    /// <summary>Starts <paramref name="start"/> and returns it, with its standard error collected for failure messages.</summary>
    internal static Process Start(ProcessStartInfo start)
    {
        start.UseShellExecute = false;
        return Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
    }
}
