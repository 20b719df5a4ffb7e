using System.Text.Json;
using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Plugins;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Cluster;
using Wrenn.Silo.Data;
using Wrenn.Silo.Quotas;
using Wrenn.Silo.Sandboxes;

namespace Wrenn.Silo.Reconciliation;

/// <summary>What one reconciliation found and did.</summary>
public sealed record ReconcileReport(int Adopted, int Lost, IReadOnlyList<string> OrphansRemoved);

/// <summary>
/// Makes the host and the database agree, on start and then periodically: every sandbox the
/// database places on this host is activated (its grain re-adopts the VM, or marks the sandbox
/// lost and frees what it held), host objects with this silo's owner prefix that no record
/// claims are removed, and the teams' quota holds are settled against the records.
/// </summary>
public sealed partial class Reconciler(SandboxStore store, TemplateCatalog templates, SandboxVms vms, WarmBase warmBase, IGrainFactory grains, ClusterHosts hosts, PluginHost plugins, TeamQuotas quotas, ForkFolders forks, ILogger<Reconciler> logger)
{
    /// <summary>A template folder younger than this may belong to a template being made right now.</summary>
    private static readonly TimeSpan TemplateGrace = TimeSpan.FromMinutes(10);

    private static readonly SandboxState[] Live = [SandboxState.Creating, SandboxState.Running, SandboxState.Paused];

    private string Host => hosts.Local;

    /// <param name="atStart">
    /// The run at the silo's start: no template of this host can be in the making then (the silo
    /// that was making it is gone), so unreferenced template folders go whatever their age.
    /// </param>
    public async Task<ReconcileReport> RunOnceAsync(CancellationToken cancellationToken, bool atStart = false)
    {
        var adopted = 0;
        var lost = 0;
        foreach (var record in await store.OnHostAsync(Host, Live, cancellationToken))
        {
            try
            {
                var info = await grains.GetGrain<ISandboxGrain>(record.Id).GetAsync(Caller.System);
                if (info.State == SandboxState.Running)
                    adopted++;
                else if (info.State is SandboxState.Lost or SandboxState.Failed)
                    lost++;
            }
            catch (GrainException e)
            {
                LogCheckFailed(e, record.Id);
            }
        }
        // Read again: activating the grains above may have ended some or finished interrupted pauses.
        var live = await store.OnHostAsync(Host, Live, cancellationToken);
        var running = live.Where(r => r.State is SandboxState.Running or SandboxState.Creating).Select(r => r.Id).ToHashSet();
        var withFiles = live.Select(r => r.Id).ToHashSet();
        var removed = (await vms.RemoveOrphansAsync(running.Contains, withFiles.Contains, cancellationToken)).ToList();
        removed.AddRange(await RemoveUnusedTemplateFilesAsync(atStart ? TimeSpan.Zero : TemplateGrace, cancellationToken));
        removed.AddRange(await RemoveUnusedWarmBasesAsync(live, cancellationToken));
        removed.AddRange(await forks.RemoveUnusedAsync(atStart, cancellationToken));
        // Last: the grains activated above have ended what they found gone (and released its holds).
        await quotas.SettleAsync(cancellationToken);
        LogReconciled(adopted, lost, removed.Count);
        return new ReconcileReport(adopted, lost, removed);
    }

    /// <summary>Snapshot-template folders on this host that no live template refers to.</summary>
    private async Task<IReadOnlyList<string>> RemoveUnusedTemplateFilesAsync(TimeSpan grace, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(plugins.DataDir, "templates");
        if (!Directory.Exists(folder))
            return [];
        var kept = (await templates.SnapshotDirsOnAsync(Host, cancellationToken)).Select(Path.GetFullPath).ToHashSet();
        var removed = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories(folder))
        {
            if (kept.Contains(Path.GetFullPath(dir)) || DateTime.UtcNow - Directory.GetLastWriteTimeUtc(dir) < grace)
                continue;
            Directory.Delete(dir, recursive: true);
            removed.Add($"template files {dir}");
            LogTemplateFilesRemoved(dir);
        }
        return removed;
    }

    /// <summary>
    /// Warm bases of older images that no sandbox or template of this host uses any more: a
    /// sandbox started from one maps its frozen memory and layers its disk on its frozen disk, and
    /// a template made from such a sandbox may too, so any path into the folder in their records
    /// keeps it.
    /// </summary>
    private async Task<IReadOnlyList<string>> RemoveUnusedWarmBasesAsync(IReadOnlyList<SandboxRecord> live, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(warmBase.Root))
            return [];
        var references = live.Select(r => JsonSerializer.Serialize(new { r.Vm, r.Paused }, WrennJson.Options))
            .Concat(await templates.SourcesOnAsync(Host, cancellationToken))
            .ToList();
        var removed = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories(warmBase.Root).Select(Path.GetFullPath))
        {
            if (dir == warmBase.CurrentFolder || references.Any(r => r.Contains(dir + "/", StringComparison.Ordinal)))
                continue;
            Directory.Delete(dir, recursive: true);
            removed.Add($"warm base {dir}");
            LogWarmBaseRemoved(dir);
        }
        return removed;
    }

    public async Task RunPeriodicallyAsync(TimeSpan period, CancellationToken cancellationToken)
    {
        using var ticks = new PeriodicTimer(period);
        try
        {
            while (await ticks.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    await RunOnceAsync(cancellationToken);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    LogFailed(e);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed the warm base of an older image, which no sandbox or template uses any more: {Folder}")]
    private partial void LogWarmBaseRemoved(string folder);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removed template files no template refers to: {Folder}")]
    private partial void LogTemplateFilesRemoved(string folder);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciled: {Adopted} running sandbox(es) adopted, {Lost} marked lost or failed, {Removed} orphan(s) removed")]
    private partial void LogReconciled(int adopted, int lost, int removed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not check sandbox {SandboxId} while reconciling; trying again next time")]
    private partial void LogCheckFailed(Exception exception, string sandboxId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reconciliation failed; trying again next period")]
    private partial void LogFailed(Exception exception);
}
