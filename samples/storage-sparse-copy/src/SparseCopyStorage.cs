using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;

namespace SparseCopy.Storage;

/// <summary>
/// Each sandbox's disk is a sparse copy of its base image (<c>cp --sparse=always --reflink=auto</c>:
/// a reflink, so copy-on-write, on btrfs or XFS; elsewhere a copy of the blocks the base holds). A
/// disk is a plain file, so attaching and detaching hold nothing on the host. Simple, and slower to
/// create than an overlay for large bases: a sample of the contract, not a replacement for qcow2.
/// </summary>
public sealed partial class SparseCopyStorage(IOptions<SparseCopyOptions> options, PluginHost host, ILogger<SparseCopyStorage> logger) : IStorage
{
    private string Folder => Path.Combine(host.DataDir, options.Value.Folder);

    public string Name => "sparse-copy";

    private string DiskPath(string sandboxId) => Path.Combine(Folder, $"{host.OwnerPrefix}-{sandboxId}.raw");

    public async Task<PreparedDisk> PrepareAsync(string sandboxId, BaseImage baseImage, CancellationToken cancellationToken)
    {
        if (baseImage.Format != "raw")
            throw new ArgumentException($"sparse-copy copies raw base images only; {baseImage.Id} is {baseImage.Format}.", nameof(baseImage));
        if (!File.Exists(baseImage.Path))
            throw new FileNotFoundException($"The base image {baseImage.Path} of {baseImage.Id} does not exist.", baseImage.Path);
        Directory.CreateDirectory(Folder);
        var path = DiskPath(sandboxId);
        await CopyAsync(baseImage.Path, path, cancellationToken);
        LogPrepared(sandboxId, path);
        return new PreparedDisk(sandboxId, path, "raw", Attached: true, new Dictionary<string, string> { ["base"] = baseImage.Id });
    }

    public Task<PreparedDisk> AttachAsync(PreparedDisk disk, CancellationToken cancellationToken) =>
        File.Exists(disk.Path)
            ? Task.FromResult(disk with { Attached = true })
            : throw new FileNotFoundException($"The disk of {disk.SandboxId} ({disk.Path}) is gone.", disk.Path);

    // A file holds no host objects: detaching leaves it as it is.
    public Task DetachAsync(PreparedDisk disk, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<BaseImage> FreezeAsync(PreparedDisk disk, string destinationDirectory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(destinationDirectory);
        var frozen = Path.Combine(destinationDirectory, "disk.raw");
        await CopyAsync(disk.Path, frozen, cancellationToken);
        return new BaseImage($"frozen-{disk.SandboxId}", frozen, "raw", new FileInfo(frozen).Length);
    }

    public Task ReleaseAsync(PreparedDisk disk, CancellationToken cancellationToken)
    {
        File.Delete(disk.Path);
        return Task.CompletedTask;
    }

    public Task DeleteBaseAsync(BaseImage image, CancellationToken cancellationToken)
    {
        File.Delete(image.Path);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<PreparedDisk>> DiscoverAsync(string ownerPrefix, CancellationToken cancellationToken)
    {
        IReadOnlyList<PreparedDisk> found = !Directory.Exists(Folder) ? [] :
            Directory.EnumerateFiles(Folder, $"{ownerPrefix}-*.raw")
                .Select(path => new PreparedDisk(Path.GetFileNameWithoutExtension(path)[(ownerPrefix.Length + 1)..], path, "raw", true, new Dictionary<string, string>()))
                .ToList();
        return Task.FromResult(found);
    }

    public async Task<long> AllocatedBytesAsync(PreparedDisk disk, CancellationToken cancellationToken) =>
        long.Parse((await HostCommand.RunAsync("stat", ["--format=%b", disk.Path], cancellationToken)).Trim(), System.Globalization.CultureInfo.InvariantCulture) * 512;

    /// <summary>Copies into a temporary name and renames it at the end, so a failed copy (a full disk) leaves nothing.</summary>
    private static async Task CopyAsync(string source, string destination, CancellationToken cancellationToken)
    {
        var partial = destination + ".part";
        try
        {
            await HostCommand.RunAsync("cp", ["--sparse=always", "--reflink=auto", source, partial], cancellationToken);
            File.Move(partial, destination, overwrite: false);
        }
        finally
        {
            File.Delete(partial);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Disk of {SandboxId}: a sparse copy at {Path}")]
    private partial void LogPrepared(string sandboxId, string path);
}
