using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Cluster.Placement;
using Wrenn.Silo.Data;
using Wrenn.Silo.Quotas;
using Wrenn.Silo.Sandboxes;

namespace Wrenn.Silo.Grains;

/// <summary>The lifecycle transitions, each an exclusive turn, in the order of docs/ARCHITECTURE.md.</summary>
public sealed partial class SandboxGrain
{
    public async Task<SandboxInfo> CreateAsync(Caller caller, CreateSandbox request, CancellationToken cancellationToken)
    {
        using var turn = await _turns.EnterExclusiveAsync(cancellationToken);
        // The host hint was for placing this grain; calls it makes onward place nothing new.
        RequestContext.Remove(GrainHosts.RequestContextKey);
        if (_record is not null)
            throw _record.TeamId == caller.TeamId
                ? new GrainException(ErrorCodes.AlreadyExists, $"Sandbox {Id} already exists.")
                : NotFound();
        if (request.TimeoutSeconds <= 0)
            throw new GrainException(ErrorCodes.InvalidArgument, $"A sandbox's timeout must be at least 1 second (got {request.TimeoutSeconds}).");
        var template = await templates.GetAsync(request.TemplateId, cancellationToken);
        if (template is null || !(template.IsPublic || template.TeamId == caller.TeamId))
            throw new GrainException(ErrorCodes.NotFound, $"No template {request.TemplateId} in your team or among public templates.");
        if (template.Source.ImageDir is null || (template.Kind == TemplateKind.Snapshot && template.Source.Snapshot is null))
            throw new GrainException(ErrorCodes.FailedPrecondition, $"Template '{template.Name}' has no image or snapshot to start from; recreate it.");
        if (template.Kind == TemplateKind.Snapshot && template.Source.Host != silo.Name)
            throw new GrainException(ErrorCodes.FailedPrecondition, $"Template '{template.Name}' lives on host {template.Source.Host}; its sandboxes start there.");
        // A snapshot template's size is baked in: its memory and devices were frozen with it.
        var size = template.Kind == TemplateKind.Snapshot
            ? new VmSize(template.Vcpus, template.MemoryMib)
            : new VmSize(request.Vcpus > 0 ? request.Vcpus : template.Vcpus, request.MemoryMib > 0 ? request.MemoryMib : template.MemoryMib);

        var network = PolicyForCreate(request, template);
        var lifecycle = (request.Lifecycle ?? SandboxLifecycle.Default) with { TimeoutSeconds = request.TimeoutSeconds };
        CheckLifecycle(lifecycle);

        _record = await store.InsertAsync(new SandboxRecord(Id, caller.TeamId, template.Id, silo.Name, SandboxState.Creating, size.Vcpus, size.MemoryMib,
            DateTimeOffset.UtcNow, null, request.Metadata ?? new Dictionary<string, string>(), null, null, 0, Network: network, Lifecycle: lifecycle), cancellationToken);
        SandboxVm vm;
        try
        {
            var image = GuestImage.FromDirectory(template.Source.ImageDir);
            // Every create is a restore where it can be: a snapshot template, or the warm base at its default size.
            var snapshot = template.Kind == TemplateKind.Snapshot ? template.Source.Snapshot : warmBase.For(template.Source.ImageDir, size);
            var egress = EgressOf(_record);
            vm = snapshot is not null
                ? await vms.CreateFromTemplateAsync(Id, snapshot, image, cancellationToken, egress)
                : await vms.CreateAsync(Id, image, size, cancellationToken, egress);
        }
        catch (Exception e)
        {
            // SandboxVms undid its own steps; the reservation and the record are ours to settle.
            await EndAsync(SandboxState.Failed, Describe(e), vm: null);
            throw e switch
            {
                LegacyAgentException legacy => new GrainException(ErrorCodes.FailedPrecondition, legacy.Message),
                OperationCanceledException => new GrainException(ErrorCodes.Cancelled, $"Sandbox {Id} could not be created: {Describe(e)}"),
                _ => new GrainException(ErrorCodes.Internal, $"Sandbox {Id} could not be created: {Describe(e)}"),
            };
        }

        var deadline = DateTimeOffset.UtcNow.AddSeconds(request.TimeoutSeconds);
        _record = await store.UpdateAsync(_record with { State = SandboxState.Running, Vm = vm, Deadline = deadline }, CancellationToken.None);
        AttachTo(vm);
        await KeepDeadlineAsync();
        return _record.ToInfo();
    }

    public async Task<SandboxInfo> SetTimeoutAsync(Caller caller, int seconds)
    {
        using var turn = await _turns.EnterExclusiveAsync();
        var record = Visible(caller);
        if (seconds <= 0)
            throw new GrainException(ErrorCodes.InvalidArgument, $"A sandbox's timeout must be at least 1 second (got {seconds}).");
        // The period is kept too: a resume after a timeout pause runs for it again.
        var lifecycle = record.Settings with { TimeoutSeconds = seconds };
        if (record.State == SandboxState.Paused)
        {
            _record = await store.UpdateAsync(record with { Remaining = TimeSpan.FromSeconds(seconds), Lifecycle = lifecycle }, CancellationToken.None);
            return _record.ToInfo();
        }
        if (record.State != SandboxState.Running)
            throw NotRunning(record);
        _record = await store.UpdateAsync(record with { Deadline = DateTimeOffset.UtcNow.AddSeconds(seconds), Lifecycle = lifecycle }, CancellationToken.None);
        await KeepDeadlineAsync();
        return _record.ToInfo();
    }

    public async Task<SandboxInfo> PauseAsync(Caller caller)
    {
        // Exclusive: waits for the commands running now to end.
        using var turn = await _turns.EnterExclusiveAsync();
        var record = Visible(caller);
        if (record.State == SandboxState.Paused)
            return record.ToInfo();
        if (record.State != SandboxState.Running || record.Vm is not { } vm)
            throw NotRunning(record);
        // The silo's own pause of a user's sandbox is the one on exit (OnExitService).
        await PauseInTurnAsync(record, vm, caller.IsSystem ? PauseReason.Shutdown : PauseReason.User, enforce: !caller.IsSystem);
        return _record!.ToInfo();
    }

    /// <summary>
    /// The pause, inside an exclusive turn, of a running sandbox: <paramref name="reason"/> is recorded
    /// with its snapshot; <paramref name="enforce"/>: the team's paused quota may refuse it (the silo's
    /// own pauses are only recorded).
    /// </summary>
    private async Task PauseInTurnAsync(SandboxRecord record, SandboxVm vm, PauseReason reason, bool enforce)
    {
        // Room among the team's paused sandboxes first: a refused pause leaves it running, untouched.
        await HoldAsync(record, HoldKind.Paused, enforce);
        await DetachAsync();
        _pausing = reason;
        PausedSandboxVm paused;
        try
        {
            paused = await vms.PauseAsync(vm, CancellationToken.None, CommitPauseAsync);
        }
        catch (Exception e) when (_record!.Paused is null)
        {
            // The pause undid itself before its snapshot was complete: the VM runs on.
            AttachTo(vm);
            await SettleHoldAsync(record, HoldKind.Running);
            throw new GrainException(ErrorCodes.Internal, $"Sandbox {Id} could not be paused and keeps running: {Describe(e)}");
        }
        catch (Exception e)
        {
            // The snapshot is complete on disk; only freeing the host failed (the reconciler finishes that).
            LogPauseReleaseIncomplete(e, Id);
            var committed = _record!.Paused!;
            paused = committed with { Disk = committed.Disk with { Attached = false } };
        }
        await BecomePausedAsync(paused, reason);
    }

    public async Task<SandboxInfo> ResumeAsync(Caller caller)
    {
        using var turn = await _turns.EnterExclusiveAsync();
        var record = Visible(caller);
        if (record.State == SandboxState.Running)
            return record.ToInfo();
        await ResumeInTurnAsync(record, enforce: !caller.IsSystem);
        return _record!.ToInfo();
    }

    /// <summary>The resume, inside an exclusive turn (a caller's, or a wake's); <paramref name="enforce"/>: the team's running quota may refuse it.</summary>
    private async Task ResumeInTurnAsync(SandboxRecord record, bool enforce)
    {
        if (record.State != SandboxState.Paused || record.Paused is not { } paused)
            throw NotRunning(record);
        var template = await templates.GetAsync(record.TemplateId, CancellationToken.None)
            ?? throw new GrainException(ErrorCodes.FailedPrecondition, $"Sandbox {Id}'s template {record.TemplateId} is gone; it cannot be resumed.");
        // The team's quota first (RESOURCE_EXHAUSTED naming the limit; it stays paused), then the host.
        await HoldAsync(record, HoldKind.Running, enforce);
        try
        {
            await GrainFactory.GetGrain<IHostSlotGrain>(record.Host).ReserveAsync(Caller.System, Id, record.Vcpus, record.MemoryMib, SandboxService.DiskPerSandboxMib);
        }
        catch
        {
            await SettleHoldAsync(record, HoldKind.Paused);
            throw;
        }
        SandboxVm vm;
        try
        {
            vm = await vms.ResumeAsync(paused, GuestImage.FromDirectory(template.Source.ImageDir!), CancellationToken.None,
                restored => CommitRunningAsync(restored, DateTimeOffset.UtcNow + (record.Remaining ?? TimeSpan.FromMinutes(5))), EgressOf(record));
        }
        catch (Exception e)
        {
            if (_record!.State == SandboxState.Running)
            {
                // The VM had been recorded as running; the resume undid it, so the record goes back to paused.
                _record = await store.UpdateAsync(_record with
                {
                    State = SandboxState.Paused, Vm = null, Paused = paused, PausedAt = record.PausedAt, Deadline = null, Remaining = record.Remaining,
                    PausedReason = record.PausedReason,
                }, CancellationToken.None);
            }
            await ReleaseReservationAsync(record);
            await SettleHoldAsync(record, HoldKind.Paused);
            throw e is LegacyAgentException legacy
                ? new GrainException(ErrorCodes.FailedPrecondition, $"{legacy.Message} It stays paused.")
                : new GrainException(ErrorCodes.Internal, $"Sandbox {Id} could not be resumed and stays paused: {Describe(e)}");
        }
        AttachTo(vm);
        await KeepDeadlineAsync();
    }

    public async Task<TemplateInfo> CreateTemplateAsync(Caller caller, string name)
    {
        using var turn = await _turns.EnterExclusiveAsync();
        var record = Visible(caller);
        if (record.State != SandboxState.Running || record.Vm is not { } vm)
            throw NotRunning(record);
        if (string.IsNullOrWhiteSpace(name) || name.Length > 64 || name == TemplateCatalog.BaseName)
            throw new GrainException(ErrorCodes.InvalidArgument, $"'{name}' cannot name a template: use 1 to 64 characters, not 'base'.");
        var source = await templates.GetAsync(record.TemplateId, CancellationToken.None);
        var imageDir = source?.Source.ImageDir ?? throw new GrainException(ErrorCodes.FailedPrecondition, $"Sandbox {Id}'s template is gone; its guest image is unknown.");
        var directory = Path.Combine(host.DataDir, "templates", $"{Id}-{DateTime.UtcNow:yyyyMMddHHmmss}");
        await DetachAsync();
        _pausing = PauseReason.User;
        TemplateSnapshot frozen;
        try
        {
            (frozen, vm) = await vms.CreateTemplateAsync(vm, directory, GuestImage.FromDirectory(imageDir), CancellationToken.None,
                CommitPauseAsync, resumed => CommitRunningAsync(resumed, record.Deadline), EgressOf(record));
        }
        catch (TemplateFailedException e) when (e.Resumed is { } resumed)
        {
            AttachTo(resumed);
            throw new GrainException(ErrorCodes.Internal, $"A template could not be made from sandbox {Id} (it runs on): {Describe(e.InnerException!)}");
        }
        catch (TemplateFailedException e) when (e.StillPaused is { } paused)
        {
            // It could not be resumed: it is paused, with its files, and can be resumed later.
            await BecomePausedAsync(paused, PauseReason.User);
            throw new GrainException(ErrorCodes.Internal, $"A template could not be made from sandbox {Id}, and it stays paused: {Describe(e.InnerException!)}");
        }
        catch (Exception e)
        {
            // The pause itself failed, which leaves the source running.
            if (await vms.IsAliveAsync(vm, CancellationToken.None))
                AttachTo(vm);
            else
                await EndAsync(SandboxState.Lost, $"making a template from it failed: {Describe(e)}", vm: null);
            throw new GrainException(ErrorCodes.Internal, $"A template could not be made from sandbox {Id}: {Describe(e)}");
        }
        AttachTo(vm);
        try
        {
            var row = await templates.AddAsync(caller.TeamId, name, false, TemplateKind.Snapshot, record.Vcpus, record.MemoryMib,
                new TemplateSource(ImageDir: imageDir, SnapshotDir: directory, Host: silo.Name, Snapshot: frozen,
                    ParentTemplateId: source?.Kind == TemplateKind.Snapshot ? source.Id : null, Network: record.Network), CancellationToken.None);
            return await GrainFactory.GetGrain<ITemplateGrain>(row.Id).GetAsync(caller);
        }
        catch
        {
            Directory.Delete(directory, recursive: true); // e.g. the name is taken: the frozen files are nobody's
            throw;
        }
    }

    /// <summary>
    /// A pause's snapshot is complete on disk: recorded before the VM stops, so that a silo that
    /// dies from here on finishes the pause on its next start instead of losing the sandbox.
    /// </summary>
    private async Task CommitPauseAsync(PausedSandboxVm paused) =>
        _record = await store.UpdateAsync(_record! with { Paused = paused, PausedReason = _pausing }, CancellationToken.None);

    /// <summary>Why the pause under way pauses (recorded with its snapshot, so a pause a crash interrupted keeps it).</summary>
    private PauseReason _pausing = PauseReason.User;

    /// <summary>A restored VM runs: recorded at once, so that a silo that dies from here on re-adopts it.</summary>
    private async Task CommitRunningAsync(SandboxVm vm, DateTimeOffset? deadline) =>
        _record = await store.UpdateAsync(_record! with
        {
            State = SandboxState.Running, Vm = vm, Paused = null, PausedAt = null, Deadline = deadline, Remaining = null, PausedReason = null,
        }, CancellationToken.None);

    /// <summary>The sandbox holds files only now: its timeout stops counting, its retention starts, its room on the host goes back.</summary>
    private async Task BecomePausedAsync(PausedSandboxVm paused, PauseReason reason)
    {
        var record = _record!;
        _record = await store.UpdateAsync(record with
        {
            State = SandboxState.Paused, Vm = null, Paused = paused, Deadline = null, PausedAt = DateTimeOffset.UtcNow,
            Remaining = reason == PauseReason.Timeout ? PeriodOf(record) : RemainingOf(record), PausedReason = reason,
        }, CancellationToken.None);
        await KeepRetentionAsync();
        await ReleaseReservationAsync(record);
        await SettleHoldAsync(record, HoldKind.Paused);
    }

    public async Task DestroyAsync(Caller caller)
    {
        // Running commands are cancelled (they end with a clear error), then the sandbox goes.
        using var turn = await _turns.EnterExclusiveCancellingSharedAsync();
        var record = Visible(caller);
        if (record.State is SandboxState.Destroyed or SandboxState.Failed or SandboxState.Lost)
            return;
        await EndAsync(SandboxState.Destroyed, null, record.Vm);
        LogDestroyed(Id, caller.IsSystem ? "the silo" : caller.KeyId ?? caller.TeamId);
    }

    /// <summary>
    /// Ends the sandbox: its VM, network, disk and reservation go; the record says how it ended
    /// (<paramref name="timedOut"/>: a deadline ended it). Called inside an exclusive turn.
    /// </summary>
    private async Task EndAsync(SandboxState state, string? error, SandboxVm? vm, bool timedOut = false)
    {
        await DetachAsync();
        if (_record?.Paused is { } paused)
        {
            try
            {
                await vms.DestroyPausedAsync(paused, CancellationToken.None);
            }
            catch (Exception e)
            {
                LogDestroyIncomplete(e, Id);
            }
        }
        else if (vm is not null)
        {
            try
            {
                await vms.DestroyAsync(vm, CancellationToken.None);
            }
            catch (Exception e)
            {
                LogDestroyIncomplete(e, Id);
            }
        }
        else
        {
            await vms.RemoveOrphansAsync(id => id != Id, CancellationToken.None); // whatever a crashed create left
        }
        var record = _record!;
        await ReleaseReservationAsync(record);
        await ForgetTimersAsync();
        _record = await store.UpdateAsync(record with { State = state, Error = error ?? record.Error, Vm = null, Paused = null, PausedAt = null, PausedReason = null }, CancellationToken.None, timedOut);
        activity.Forget(Id);
        await ReleaseHoldAsync(); // after the record says it ended
        await RemoveUnusedForksAsync(); // after the record says it ended: it no longer counts as a user
        this.DeactivateOnIdle();
    }

    private async Task ReleaseReservationAsync(SandboxRecord record)
    {
        try
        {
            await GrainFactory.GetGrain<IHostSlotGrain>(record.Host).ReleaseAsync(Caller.System, Id);
        }
        catch (GrainException e)
        {
            LogReleaseFailed(e, Id, record.Host);
        }
    }

    /// <summary>A timeout pause used its running time up: the resume gives it a whole period again.</summary>
    private static TimeSpan PeriodOf(SandboxRecord record) => TimeSpan.FromSeconds(record.Settings.TimeoutSeconds ?? DefaultTimeoutSeconds);

    /// <summary>The period of sandboxes recorded before it was kept (the API's default timeout).</summary>
    private const int DefaultTimeoutSeconds = 300;

    /// <summary>The running time a sandbox had left when it stopped running (at least a second).</summary>
    private static TimeSpan RemainingOf(SandboxRecord record) =>
        record.Deadline is { } deadline && deadline > DateTimeOffset.UtcNow ? deadline - DateTimeOffset.UtcNow : TimeSpan.FromSeconds(1);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} destroyed by {Who}")]
    private partial void LogDestroyed(string sandboxId, string who);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Destroying sandbox {SandboxId} left something behind; the reconciler removes it")]
    private partial void LogDestroyIncomplete(Exception exception, string sandboxId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sandbox {SandboxId} is paused (its snapshot is complete) but freeing its VM, disk or network slot failed; the reconciler removes what is left")]
    private partial void LogPauseReleaseIncomplete(Exception exception, string sandboxId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release sandbox {SandboxId}'s reservation on host {Host}")]
    private partial void LogReleaseFailed(Exception exception, string sandboxId, string host);
}
