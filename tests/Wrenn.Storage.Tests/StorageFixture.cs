using Wrenn.Abstractions.Plugins;
using Wrenn.Testing;

namespace Wrenn.Storage.Tests;

/// <summary>A fresh test owner with its own folder under /run/wrenn for images and disks; removed afterwards.</summary>
public sealed class StorageFixture : IAsyncLifetime
{
    public string Owner { get; private set; } = "";
    public string Folder { get; private set; } = "";
    public PluginHost Host { get; private set; } = null!;

    private bool _mapperControlExisted;

    public async Task InitializeAsync()
    {
        _mapperControlExisted = File.Exists("/dev/mapper/control");
        await HostSweep.RemoveLeftoversAsync();
        Owner = TestPrefix.NewOwner();
        Folder = Path.Combine("/run/wrenn", Owner);
        Directory.CreateDirectory(Folder);
        Host = new PluginHost(Owner, Folder, Folder, "/run/wrenn", "/var/cache/wrenn");
    }

    /// <summary>A small image file whose every byte is <paramref name="fill"/>.</summary>
    public string MakeImage(string name, byte fill, int bytes = 1024 * 1024)
    {
        var path = Path.Combine(Folder, name);
        File.WriteAllBytes(path, Enumerable.Repeat(fill, bytes).ToArray());
        return path;
    }

    public async Task DisposeAsync()
    {
        // Loop devices of this owner's files that a failing test left attached.
        var listing = await HostCommand.TryRunAsync("losetup", ["--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"], CancellationToken.None);
        foreach (var line in listing.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ', 2);
            if (fields.Length == 2 && fields[1].StartsWith(Folder, StringComparison.Ordinal))
                await HostCommand.TryRunAsync("losetup", ["--detach", fields[0]], CancellationToken.None);
        }
        Directory.Delete(Folder, recursive: true);
        TestPrefix.Retire(Owner);
        // dmsetup creates /dev/mapper/control even on a kernel without device-mapper: put it back as it was.
        if (!_mapperControlExisted && File.Exists("/dev/mapper/control"))
        {
            File.Delete("/dev/mapper/control");
            if (!Directory.EnumerateFileSystemEntries("/dev/mapper").Any())
                Directory.Delete("/dev/mapper");
        }
    }
}
