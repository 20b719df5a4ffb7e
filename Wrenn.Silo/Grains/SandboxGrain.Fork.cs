using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Ids;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Cluster.Placement;
using Wrenn.Silo.Data;
using Wrenn.Silo.Quotas;
using Wrenn.Silo.Sandboxes;

namespace Wrenn.Silo.Grains;

/// <summary>
/// Forks of a running sandbox: room for every child first (the team's quota, then this host), then
/// the snapshot in an exclusive turn of the source (which runs on in its VM, on a fresh disk layer),
/// then the children in parallel outside it, each a sandbox grain of this host restored from the
/// fork's folder. A fork that fails leaves no child, reservation or hold behind.
/// </summary>
public sealed partial class SandboxGrain
{
    private ForkFolders Forks => ServiceProvider.GetRequiredService<ForkFolders>();

    public async Task<IReadOnlyList<SandboxInfo>> ForkAsync(Caller caller, int count)
    {
        var maxCount = ServiceProvider.GetRequiredService<IOptions<ForkOptions>>().Value.MaxCount;
        SandboxRecord record;
        List<string> children;
        string folder;
        ForkSnapshot fork;
        using (await _turns.EnterExclusiveAsync())
        {
            record = Visible(caller);
            if (count < 1 || count > maxCount)
                throw new GrainException(ErrorCodes.InvalidArgument, $"count must be between 1 and {maxCount} (got {count}).");
            if (record.State == SandboxState.Paused)
                throw new GrainException(ErrorCodes.FailedPrecondition, $"Sandbox {Id} is paused; resume it first: a fork copies a running sandbox.");
            if (record.State != SandboxState.Running || record.Vm is not { } vm)
                throw NotRunning(record);
            if (vms.CannotFork is { } reason)
                throw new GrainException(ErrorCodes.FailedPrecondition, $"Sandbox {Id} cannot be forked: {reason}.");

            children = [.. Enumerable.Range(0, count).Select(_ => SandboxId.New().ToString())];
            await ReserveChildrenAsync(record, children, enforce: !caller.IsSystem);
            folder = Forks.Begin(Id);
            try
            {
                fork = await vms.ForkAsync(vm, folder, CancellationToken.None);
            }
            catch (Exception e)
            {
                // The source runs on as it was; the folder is gone with the undo.
                await ReleaseChildrenAsync(record, children);
                throw e is ForkUnsupportedException
                    ? new GrainException(ErrorCodes.FailedPrecondition, $"Sandbox {Id} cannot be forked: {e.Message}.")
                    : new GrainException(ErrorCodes.Internal, $"Sandbox {Id} could not be forked (it runs on): {Describe(e)}");
            }
            // The source writes on a fresh layer over the frozen disk now: recorded at once.
            _record = await store.UpdateAsync(_record! with { Vm = fork.Source }, CancellationToken.None);
            ForkFolders.WriteManifest(folder, fork.Frozen);
        }

        // Outside the source's turn: its commands go on while the children start.
        var request = new ForkChild(Id, folder, record.TeamId, record.TemplateId, record.Vcpus, record.MemoryMib, record.Deadline, record.Metadata, record.Network, record.Lifecycle);
        var started = await Task.WhenAll(children.Select(async child =>
        {
            try
            {
                using (GrainHosts.OnHost(record.Host))
                    return (Info: await GrainFactory.GetGrain<ISandboxGrain>(child).CreateForkChildAsync(Caller.System, request), Error: (Exception?)null);
            }
            catch (Exception e)
            {
                return (Info: (SandboxInfo?)null, Error: e);
            }
        }));
        if (started.FirstOrDefault(s => s.Error is not null).Error is { } failed)
        {
            // All or nothing: the children that started go again, with what each held.
            foreach (var (info, _) in started.Where(s => s.Info is not null))
                await GrainFactory.GetGrain<ISandboxGrain>(info!.Id).DestroyAsync(Caller.System);
            await ReleaseChildrenAsync(record, children);
            ForkFolders.Done(folder);
            await RemoveUnusedForksAsync();
            throw new GrainException(ErrorCodes.Internal, $"Sandbox {Id} could not be forked (it runs on; no child was kept): {(failed is GrainException g ? g.Message : Describe(failed))}");
        }
        ForkFolders.Done(folder);
        LogForked(Id, count, (long)fork.Stopped.TotalMilliseconds, folder);
        return [.. started.Select(s => s.Info!)];
    }

    public async Task<SandboxInfo> CreateForkChildAsync(Caller caller, ForkChild request)
    {
        using var turn = await _turns.EnterExclusiveAsync();
        RequestContext.Remove(GrainHosts.RequestContextKey);
        if (!caller.IsSystem)
            throw new GrainException(ErrorCodes.PermissionDenied, "Only the silo starts a fork's children; call forkSandbox.");
        if (_record is not null)
            throw new GrainException(ErrorCodes.AlreadyExists, $"Sandbox {Id} already exists.");
        var snapshot = ForkFolders.ReadManifest(request.ForkDirectory)
            ?? throw new GrainException(ErrorCodes.FailedPrecondition, $"The fork of {request.SourceId} in {request.ForkDirectory} is incomplete or gone.");
        var template = await templates.GetAsync(request.TemplateId, CancellationToken.None);
        var imageDir = template?.Source.ImageDir
            ?? throw new GrainException(ErrorCodes.FailedPrecondition, $"Sandbox {request.SourceId}'s template {request.TemplateId} is gone; its guest image is unknown.");

        _record = await store.InsertAsync(new SandboxRecord(Id, request.TeamId, request.TemplateId, silo.Name, SandboxState.Creating, request.Vcpus, request.MemoryMib,
            DateTimeOffset.UtcNow, null, request.Metadata, null, null, 0, Network: request.Network, Lifecycle: request.Lifecycle), CancellationToken.None);
        SandboxVm vm;
        try
        {
            vm = await vms.CreateFromTemplateAsync(Id, snapshot, GuestImage.FromDirectory(imageDir), CancellationToken.None, EgressOf(_record));
        }
        catch (Exception e)
        {
            await EndAsync(SandboxState.Failed, Describe(e), vm: null);
            throw new GrainException(ErrorCodes.Internal, $"Fork child {Id} of {request.SourceId} could not be started: {Describe(e)}");
        }
        // The source's deadline: a child starts in its state, its remaining running time included.
        var deadline = request.Deadline is { } d && d > DateTimeOffset.UtcNow ? d : DateTimeOffset.UtcNow.AddMinutes(5);
        _record = await store.UpdateAsync(_record with { State = SandboxState.Running, Vm = vm, Deadline = deadline }, CancellationToken.None);
        AttachTo(vm);
        await KeepDeadlineAsync();
        return _record.ToInfo();
    }

    /// <summary>Room for every child before anything is made: the team's quota, then this host; all or none.</summary>
    private async Task ReserveChildrenAsync(SandboxRecord record, IReadOnlyList<string> children, bool enforce)
    {
        try
        {
            foreach (var child in children)
                await quotas.HoldAsync(new SandboxHold(record.TeamId, child, HoldKind.Running, record.Vcpus, record.MemoryMib), enforce, CancellationToken.None);
            var hostSlot = GrainFactory.GetGrain<IHostSlotGrain>(record.Host);
            foreach (var child in children)
                await hostSlot.ReserveAsync(Caller.System, child, record.Vcpus, record.MemoryMib, SandboxService.DiskPerSandboxMib);
        }
        catch (GrainException e) when (e.Code == ErrorCodes.ResourceExhausted)
        {
            await ReleaseChildrenAsync(record, children);
            throw new GrainException(ErrorCodes.ResourceExhausted, $"A fork of {Id} into {children.Count} does not fit, and nothing was created: {e.Message}");
        }
        catch
        {
            await ReleaseChildrenAsync(record, children);
            throw;
        }
    }

    private async Task ReleaseChildrenAsync(SandboxRecord record, IReadOnlyList<string> children)
    {
        var hostSlot = GrainFactory.GetGrain<IHostSlotGrain>(record.Host);
        foreach (var child in children)
        {
            try
            {
                await hostSlot.ReleaseAsync(Caller.System, child);
                await quotas.ReleaseAsync(child, CancellationToken.None);
            }
            catch (Exception e)
            {
                LogForkReleaseFailed(e, Id, child);
            }
        }
    }

    /// <summary>After a sandbox ends: the forks' frozen state it was the last user of goes (the reconciler catches what this misses).</summary>
    private async Task RemoveUnusedForksAsync()
    {
        try
        {
            await Forks.RemoveUnusedAsync(atStart: false, CancellationToken.None);
        }
        catch (Exception e)
        {
            LogForkCleanupFailed(e, Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} forked into {Count} child(ren); the source was stopped for {StoppedMilliseconds} ms; frozen state in {Folder}")]
    private partial void LogForked(string sandboxId, int count, long stoppedMilliseconds, string folder);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sandbox {SandboxId}: could not release fork child {Child}'s reservation or hold; the reconciler settles it")]
    private partial void LogForkReleaseFailed(Exception exception, string sandboxId, string child);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sandbox {SandboxId}: removing unused fork state failed; the reconciler removes it")]
    private partial void LogForkCleanupFailed(Exception exception, string sandboxId);
}
