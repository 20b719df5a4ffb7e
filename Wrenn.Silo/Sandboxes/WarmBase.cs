using System.Text.Json;
using Microsoft.Extensions.Logging;
using Wrenn.Grains.Ids;
using Wrenn.Silo.Data;

namespace Wrenn.Silo.Sandboxes;

/// <summary>
/// The base image, booted once per host until its agent answers and frozen into a snapshot, so that
/// creating a sandbox of the base's default size is a restore, not a boot. Kept in the data folder
/// per image and size; made again when the image changes.
/// </summary>
public sealed partial class WarmBase(SandboxVms vms, string dataDir, ILogger<WarmBase> logger)
{
    private TemplateSnapshot? _snapshot;
    private string? _imageDir;
    private VmSize? _size;

    /// <summary>The warm snapshot for this image and size, if this host has one.</summary>
    public TemplateSnapshot? For(string imageDir, VmSize size) =>
        _snapshot is not null && _imageDir == imageDir && _size == size ? _snapshot : null;

    /// <summary>Finds the warm snapshot for the image, or makes one (a boot, then a snapshot: seconds under emulation).</summary>
    public async Task PrepareAsync(string imageDir, VmSize size, CancellationToken cancellationToken)
    {
        var image = GuestImage.FromDirectory(imageDir);
        // The guest's network settings are frozen into it at its boot (its resolv.conf among them):
        // "g2" is the generation that is told the sandbox resolver, so older warm bases are made again.
        var folder = Path.Combine(dataDir, "warm-base", $"{image.RootFilesystem.Id}-{size.Vcpus}x{size.MemoryMib}-g2");
        var description = Path.Combine(folder, "warm.json");
        if (File.Exists(description) && JsonSerializer.Deserialize<TemplateSnapshot>(await File.ReadAllTextAsync(description, cancellationToken), WrennJson.Options) is { } kept
            && File.Exists(kept.Snapshot.StateFile))
        {
            (_snapshot, _imageDir, _size) = (kept, imageDir, size);
            return;
        }

        // Warm bases of older images stay while sandboxes started from them use their files (a
        // child maps the frozen memory and layers its disk on the frozen one); the reconciler
        // removes them once none does.
        LogPreparing(folder);
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        var vm = await vms.CreateAsync(SandboxId.New().ToString(), image, size, cancellationToken);
        try
        {
            var (frozen, resumed) = await vms.CreateTemplateAsync(vm, Path.Combine(folder, "snapshot"), image, cancellationToken);
            vm = resumed;
            await File.WriteAllTextAsync(description, JsonSerializer.Serialize(frozen, WrennJson.Options), cancellationToken);
            (_snapshot, _imageDir, _size) = (frozen, imageDir, size);
        }
        finally
        {
            await vms.DestroyAsync(vm, CancellationToken.None);
        }
        LogReady(folder);
    }

    /// <summary>The folder of the warm base in use, if this host has one.</summary>
    public string? CurrentFolder => _snapshot is null ? null : Path.GetDirectoryName(_snapshot.Directory);

    /// <summary>Where every warm base of this host lives, the current one and older ones still in use.</summary>
    public string Root => Path.Combine(dataDir, "warm-base");

    [LoggerMessage(Level = LogLevel.Information, Message = "Preparing the warm base in {Folder}: booting the base image once and freezing it, so that creates restore instead of booting")]
    private partial void LogPreparing(string folder);

    [LoggerMessage(Level = LogLevel.Information, Message = "Warm base ready in {Folder}")]
    private partial void LogReady(string folder);
}
