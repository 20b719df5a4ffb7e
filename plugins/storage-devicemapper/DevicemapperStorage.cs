using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;

namespace Wrenn.Plugins.Storage.Devicemapper;

/// <summary>
/// A dm-snapshot per sandbox: the origin is the base image's shared read-only loop device, the
/// exception store a sparse CoW file of the sandbox on a loop device of its own. The VMM opens
/// /dev/mapper/{owner}-{sandbox} as a raw disk, so this works for Firecracker and QEMU alike.
/// Needs a kernel with device-mapper (dm_snapshot) and dmsetup.
/// </summary>
public sealed partial class DevicemapperStorage(
    IOptions<DevicemapperOptions> options, PluginHost host, LoopDeviceRegistry loops, ILogger<DevicemapperStorage> logger) : IStorage
{
    private readonly string _directory = options.Value.DiskDirectory ?? Path.Combine(host.DataDir, "disks");

    public string Name => "devicemapper";

    public async Task<PreparedDisk> PrepareAsync(string sandboxId, BaseImage baseImage, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_directory);
        var cow = Path.Combine(_directory, $"{host.OwnerPrefix}-{sandboxId}.cow");
        // Sparse, as large as the base: the worst case is the guest rewriting every block.
        using (var file = new FileStream(cow, FileMode.CreateNew, FileAccess.Write))
            file.SetLength(baseImage.SizeBytes);
        var disk = new PreparedDisk(sandboxId, MapperPath(sandboxId), "raw", Attached: false, new Dictionary<string, string>
        {
            ["cow"] = cow,
            ["base"] = Path.GetFullPath(baseImage.Path),
            ["sectors"] = (baseImage.SizeBytes / 512).ToString(CultureInfo.InvariantCulture),
        });
        try
        {
            return await AttachAsync(disk, cancellationToken);
        }
        catch
        {
            File.Delete(cow);
            throw;
        }
    }

    /// <summary>base loop (shared) → CoW loop → dm-snapshot target; each step undone if a later one fails.</summary>
    public async Task<PreparedDisk> AttachAsync(PreparedDisk disk, CancellationToken cancellationToken)
    {
        if (disk.Attached)
            return disk;
        var origin = await loops.AcquireAsync(disk.Properties["base"], cancellationToken);
        string? cowLoop = null;
        try
        {
            cowLoop = (await HostCommand.RunAsync("losetup", ["--find", "--show", disk.Properties["cow"]], cancellationToken)).Trim();
            var table = $"0 {disk.Properties["sectors"]} snapshot {origin} {cowLoop} P {options.Value.ChunkSectors}";
            await HostCommand.RunAsync("dmsetup", ["create", TargetName(disk.SandboxId), "--table", table], cancellationToken);
        }
        catch
        {
            if (cowLoop is not null)
                await HostCommand.TryRunAsync("losetup", ["--detach", cowLoop], CancellationToken.None);
            await loops.ReleaseAsync(disk.Properties["base"], CancellationToken.None);
            throw;
        }
        LogAttached(disk.SandboxId, disk.Path);
        return disk with { Attached = true, Properties = new Dictionary<string, string>(disk.Properties) { ["cowLoop"] = cowLoop } };
    }

    public async Task DetachAsync(PreparedDisk disk, CancellationToken cancellationToken)
    {
        await HostCommand.TryRunAsync("dmsetup", ["remove", "--retry", TargetName(disk.SandboxId)], cancellationToken);
        if (disk.Properties.TryGetValue("cowLoop", out var cowLoop))
            await HostCommand.TryRunAsync("losetup", ["--detach", cowLoop], cancellationToken);
        if (disk.Attached)
            await loops.ReleaseAsync(disk.Properties["base"], cancellationToken);
    }

    /// <summary>
    /// Freezes a detached disk into a template's base: the snapshot is attached for a moment and its
    /// whole content (the base with the sandbox's CoW over it) copied, sparse, into a standalone raw
    /// image — flattened, so a template never depends on the sandbox it came from, and its own
    /// sandboxes share it through one read-only loop device like any base.
    /// </summary>
    public async Task<BaseImage> FreezeAsync(PreparedDisk disk, string destinationDirectory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(destinationDirectory);
        var frozen = Path.Combine(destinationDirectory, "disk.raw");
        var attached = await AttachAsync(disk with { Attached = false }, cancellationToken);
        try
        {
            await HostCommand.RunAsync("cp", ["--sparse=always", attached.Path, frozen], cancellationToken);
        }
        finally
        {
            await DetachAsync(attached, CancellationToken.None);
        }
        File.SetUnixFileMode(frozen, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return new BaseImage($"frozen-{disk.SandboxId}", frozen, "raw", long.Parse(disk.Properties["sectors"], CultureInfo.InvariantCulture) * 512);
    }

    public async Task ReleaseAsync(PreparedDisk disk, CancellationToken cancellationToken)
    {
        await DetachAsync(disk, cancellationToken);
        File.Delete(disk.Properties["cow"]);
    }

    public Task DeleteBaseAsync(BaseImage image, CancellationToken cancellationToken)
    {
        File.Delete(image.Path);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<PreparedDisk>> DiscoverAsync(string ownerPrefix, CancellationToken cancellationToken)
    {
        IReadOnlyList<PreparedDisk> found = Directory.Exists(_directory)
            ? Directory.EnumerateFiles(_directory, $"{ownerPrefix}-*.cow")
                .Select(cow =>
                {
                    var sandboxId = Path.GetFileNameWithoutExtension(cow)[(ownerPrefix.Length + 1)..];
                    return new PreparedDisk(sandboxId, MapperPath(sandboxId), "raw", File.Exists(MapperPath(sandboxId)),
                        new Dictionary<string, string> { ["cow"] = cow });
                })
                .ToList()
            : [];
        return Task.FromResult(found);
    }

    public async Task<long> AllocatedBytesAsync(PreparedDisk disk, CancellationToken cancellationToken)
    {
        var blocks = await HostCommand.RunAsync("stat", ["-c", "%b", disk.Properties["cow"]], cancellationToken);
        return long.Parse(blocks.Trim(), CultureInfo.InvariantCulture) * 512;
    }

    private string TargetName(string sandboxId) => $"{host.OwnerPrefix}-{sandboxId}";

    private string MapperPath(string sandboxId) => "/dev/mapper/" + TargetName(sandboxId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Disk of {SandboxId} attached as {Path}")]
    private partial void LogAttached(string sandboxId, string path);
}
