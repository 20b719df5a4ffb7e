using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;

namespace Wrenn.Plugins.Storage.Qcow2;

/// <summary>
/// One qcow2 overlay per sandbox, backed by the shared base image, which QEMU only reads: a new
/// sandbox costs a few hundred KiB of metadata, not a copy of the root disk. Overlays are plain
/// files, so attaching and detaching need no host objects.
/// </summary>
public sealed partial class Qcow2Storage(IOptions<Qcow2Options> options, PluginHost host, ILogger<Qcow2Storage> logger) : IStorage
{
    private readonly string _directory = options.Value.DiskDirectory ?? Path.Combine(host.DataDir, "disks");

    public string Name => "qcow2";

    public async Task<PreparedDisk> PrepareAsync(string sandboxId, BaseImage baseImage, CancellationToken cancellationToken)
    {
        if (!File.Exists(baseImage.Path))
            throw new FileNotFoundException($"The base image '{baseImage.Path}' of {baseImage.Id} does not exist: rebuild the image (scripts/setup) or delete the template.", baseImage.Path);
        Directory.CreateDirectory(_directory);
        var path = PathFor(host.OwnerPrefix, sandboxId);
        try
        {
            await HostCommand.RunAsync(options.Value.QemuImg,
                ["create", "-q", "-f", "qcow2", "-b", Path.GetFullPath(baseImage.Path), "-F", baseImage.Format, path], cancellationToken);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
        LogPrepared(sandboxId, path, baseImage.Id);
        return new PreparedDisk(sandboxId, path, "qcow2", Attached: true,
            new Dictionary<string, string> { ["base"] = baseImage.Path, ["baseId"] = baseImage.Id });
    }

    public Task<PreparedDisk> AttachAsync(PreparedDisk disk, CancellationToken cancellationToken) =>
        File.Exists(disk.Path)
            ? Task.FromResult(disk with { Attached = true })
            : throw new FileNotFoundException($"The disk of {disk.SandboxId} ('{disk.Path}') is gone.", disk.Path);

    public Task DetachAsync(PreparedDisk disk, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Freezes a stopped VM's disk: its overlay moves into <paramref name="destinationDirectory"/>
    /// and becomes a read-only layer, and the sandbox gets a fresh overlay on top of it at the same
    /// path (so a VM restored from a snapshot finds its disk where it was). Sandboxes made from the
    /// template layer their own overlays over the frozen one. The chain is not flattened yet.
    /// </summary>
    /// <summary>
    /// Freezes a detached overlay into a template's disk: a sparse copy (the sandbox keeps its own
    /// overlay, so deleting the template never takes a running sandbox's disk with it), backed by
    /// what the overlay was backed by. A copy deeper than <see cref="Qcow2Options.MaxChainDepth"/>
    /// layers is flattened onto the chain's root image, so reads never walk a long chain.
    /// </summary>
    public async Task<BaseImage> FreezeAsync(PreparedDisk disk, string destinationDirectory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(destinationDirectory);
        var frozen = Path.Combine(destinationDirectory, "disk.qcow2");
        await HostCommand.RunAsync("cp", ["--sparse=always", disk.Path, frozen], cancellationToken);
        var chain = await ChainAsync(frozen, cancellationToken);
        if (chain.Count - 1 > options.Value.MaxChainDepth)
        {
            var root = chain[^1];
            await HostCommand.RunAsync(options.Value.QemuImg, ["rebase", "-f", "qcow2", "-b", root.File, "-F", root.Format, frozen], cancellationToken);
            LogFlattened(disk.SandboxId, chain.Count - 1, root.File);
        }
        File.SetUnixFileMode(frozen, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var info = await HostCommand.RunAsync(options.Value.QemuImg, ["info", "--output=json", frozen], cancellationToken);
        using var json = System.Text.Json.JsonDocument.Parse(info);
        return new BaseImage($"frozen-{disk.SandboxId}", frozen, "qcow2", json.RootElement.GetProperty("virtual-size").GetInt64());
    }

    /// <summary>The image and its backing files, the image first and the root last.</summary>
    public async Task<IReadOnlyList<(string File, string Format)>> ChainAsync(string image, CancellationToken cancellationToken)
    {
        var info = await HostCommand.RunAsync(options.Value.QemuImg, ["info", "--backing-chain", "--output=json", "-U", image], cancellationToken);
        using var json = System.Text.Json.JsonDocument.Parse(info);
        return json.RootElement.EnumerateArray()
            .Select(e => (e.GetProperty("filename").GetString()!, e.GetProperty("format").GetString()!)).ToList();
    }

    public Task ReleaseAsync(PreparedDisk disk, CancellationToken cancellationToken)
    {
        File.Delete(disk.Path);
        LogReleased(disk.SandboxId, disk.Path);
        return Task.CompletedTask;
    }

    public Task DeleteBaseAsync(BaseImage image, CancellationToken cancellationToken)
    {
        File.Delete(image.Path);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<PreparedDisk>> DiscoverAsync(string ownerPrefix, CancellationToken cancellationToken)
    {
        IReadOnlyList<PreparedDisk> found = Directory.Exists(_directory)
            ? Directory.EnumerateFiles(_directory, $"{ownerPrefix}-*.qcow2")
                .Select(path => new PreparedDisk(Path.GetFileNameWithoutExtension(path)[(ownerPrefix.Length + 1)..], path, "qcow2", true,
                    new Dictionary<string, string>()))
                .ToList()
            : [];
        return Task.FromResult(found);
    }

    public async Task<long> AllocatedBytesAsync(PreparedDisk disk, CancellationToken cancellationToken)
    {
        // st_blocks counts 512-byte units actually allocated, whatever the file's apparent size.
        var blocks = await HostCommand.RunAsync("stat", ["-c", "%b", disk.Path], cancellationToken);
        return long.Parse(blocks.Trim(), CultureInfo.InvariantCulture) * 512;
    }

    private string PathFor(string owner, string sandboxId) => Path.Combine(_directory, $"{owner}-{sandboxId}.qcow2");

    [LoggerMessage(Level = LogLevel.Information, Message = "Template disk from {SandboxId} was {Depth} layers deep; flattened onto {Root}")]
    private partial void LogFlattened(string sandboxId, int depth, string root);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Disk of {SandboxId}: overlay {Path} over {BaseId}")]
    private partial void LogPrepared(string sandboxId, string path, string baseId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Disk of {SandboxId} removed ({Path})")]
    private partial void LogReleased(string sandboxId, string path);
}
