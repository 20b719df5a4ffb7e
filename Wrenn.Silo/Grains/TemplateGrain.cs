using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Cluster;
using Wrenn.Silo.Data;

namespace Wrenn.Silo.Grains;

/// <summary>A template: visible to its team (or to all when public); deleting one in use is refused.</summary>
[GrainType(GrainTypes.Template)]
[Orleans.Placement.PreferLocalPlacement]
public sealed class TemplateGrain(TemplateCatalog catalog, Orleans.Runtime.ILocalSiloDetails silo) : Grain, ITemplateGrain
{
    private string Id => this.GetPrimaryKeyString();

    public async Task<TemplateInfo> GetAsync(Caller caller)
    {
        var row = await VisibleRowAsync(caller);
        return new TemplateInfo(row.Id, row.Name, row.TeamId, row.IsPublic, row.Kind, row.Vcpus, row.MemoryMib,
            row.Source.ImageDir ?? row.Source.SnapshotDir ?? "", await catalog.UsersAsync(row.Id, CancellationToken.None), row.CreatedAt);
    }

    public async Task DeleteAsync(Caller caller)
    {
        var row = await VisibleRowAsync(caller);
        if (row.TeamId != caller.TeamId && !caller.IsSystem)
            throw new GrainException(ErrorCodes.FailedPrecondition, $"Template '{row.Name}' is public and not your team's; only its owners can delete it.");
        var users = await catalog.UsersAsync(row.Id, CancellationToken.None);
        if (users > 0)
            throw new GrainException(ErrorCodes.FailedPrecondition, $"Template '{row.Name}' is used by {users} sandbox(es) or template(s) made from them; destroy or delete those first.");
        await catalog.MarkDeletedAsync(row.Id, CancellationToken.None);
        // A snapshot template's files (frozen disk, memory, device state) live on its host; elsewhere the host's reconciler removes them.
        if (row.Source.SnapshotDir is { } files && row.Source.Host == silo.Name && Directory.Exists(files))
            Directory.Delete(files, recursive: true);
        this.DeactivateOnIdle();
    }

    private async Task<TemplateRow> VisibleRowAsync(Caller caller)
    {
        var row = await catalog.GetAsync(Id, CancellationToken.None);
        if (row is null || !(row.IsPublic || row.TeamId == caller.TeamId || caller.IsSystem))
        {
            this.DeactivateOnIdle();
            throw new GrainException(ErrorCodes.NotFound, $"No template {Id} in your team.");
        }
        return row;
    }
}
