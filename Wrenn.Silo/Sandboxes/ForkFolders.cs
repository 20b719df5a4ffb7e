using System.Text.Json;
using Microsoft.Extensions.Logging;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Cluster;
using Wrenn.Silo.Data;

namespace Wrenn.Silo.Sandboxes;

/// <summary>
/// The frozen state of forks on this host (<c>{data}/forks/{source}-{time}</c>: device state, memory
/// copy, frozen disk, <c>fork.json</c>), kept while anything uses it and removed once nothing does.
/// Its users are found, never counted: a live sandbox or template of this host whose record names a
/// file in the folder (a child's memory, the base of its disk) or whose disk's backing chain runs
/// through it (the source, which writes on a layer over the frozen disk, and the children of
/// children). So the count survives silo restarts and crashes without a row of its own.
/// </summary>
public sealed partial class ForkFolders(SandboxStore store, TemplateCatalog templates, SandboxVms vms, ClusterHosts hosts, ILogger<ForkFolders> logger)
{
    /// <summary>Present while a fork is being made: its children are not recorded as users yet.</summary>
    public const string InProgressMarker = ".forking";

    private const string Manifest = "fork.json";

    /// <summary>A fork whose marker is older than this belongs to a silo that died making it.</summary>
    private static readonly TimeSpan InProgressGrace = TimeSpan.FromHours(1);

    private static readonly SandboxState[] Live = [SandboxState.Creating, SandboxState.Running, SandboxState.Paused];

    /// <summary>A new fork folder for <paramref name="sourceId"/>, marked in progress.</summary>
    public string Begin(string sourceId)
    {
        var folder = Path.Combine(vms.ForkRoot, $"{sourceId}-{DateTime.UtcNow:yyyyMMddHHmmssfff}");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, InProgressMarker), "");
        return folder;
    }

    /// <summary>The fork's children are recorded: from now on their records keep the folder.</summary>
    public static void Done(string folder) => File.Delete(Path.Combine(folder, InProgressMarker));

    public static void WriteManifest(string folder, TemplateSnapshot snapshot) =>
        File.WriteAllText(Path.Combine(folder, Manifest), JsonSerializer.Serialize(snapshot, WrennJson.Options));

    /// <summary>What a child restores from; null when the folder is not a complete fork.</summary>
    public static TemplateSnapshot? ReadManifest(string folder) =>
        File.Exists(Path.Combine(folder, Manifest)) ? JsonSerializer.Deserialize<TemplateSnapshot>(File.ReadAllText(Path.Combine(folder, Manifest)), WrennJson.Options) : null;

    /// <summary>
    /// Removes the fork folders nothing uses. <paramref name="atStart"/>: no fork can be in the making
    /// (the silo that made it is gone), so a marked folder goes too whatever its age.
    /// </summary>
    public async Task<IReadOnlyList<string>> RemoveUnusedAsync(bool atStart, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(vms.ForkRoot))
            return [];
        var folders = Directory.EnumerateDirectories(vms.ForkRoot).Select(Path.GetFullPath).ToList();
        if (folders.Count == 0)
            return [];
        var references = await ReferencesAsync(cancellationToken);
        var removed = new List<string>();
        foreach (var folder in folders)
        {
            var marker = Path.Combine(folder, InProgressMarker);
            if (File.Exists(marker) && !atStart && DateTime.UtcNow - File.GetLastWriteTimeUtc(marker) < InProgressGrace)
                continue;
            if (references.Any(r => r.Contains(folder + "/", StringComparison.Ordinal)))
                continue;
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
                continue; // another sandbox's end removed it first
            }
            removed.Add($"fork files {folder}");
            LogRemoved(folder);
        }
        return removed;
    }

    /// <summary>Every path this host's live sandboxes and templates hold: their records, and the layers under their disks.</summary>
    private async Task<List<string>> ReferencesAsync(CancellationToken cancellationToken)
    {
        var host = hosts.Local;
        var live = await store.OnHostAsync(host, Live, cancellationToken);
        var references = live.Select(r => JsonSerializer.Serialize(new { r.Vm, r.Paused }, WrennJson.Options))
            .Concat(await templates.SourcesOnAsync(host, cancellationToken))
            .ToList();
        var disks = live.Select(r => r.Vm?.Disk.Path ?? r.Paused?.Disk.Path)
            .Concat((await templates.SnapshotDirsOnAsync(host, cancellationToken)).Select(dir => Path.Combine(dir, "disk.qcow2")));
        foreach (var disk in disks.OfType<string>().Distinct())
        {
            try
            {
                references.AddRange(await vms.DiskLayersAsync(disk, cancellationToken));
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                // A disk being removed right now: its record no longer counts either.
            }
        }
        return references;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed a fork's frozen state, which no sandbox or template uses any more: {Folder}")]
    private partial void LogRemoved(string folder);
}
