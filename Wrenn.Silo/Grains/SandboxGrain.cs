using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Plugins;
using Wrenn.Grains.Runtime;
using Wrenn.Grains.Sandboxes;
using Wrenn.Guest.Protocol;
using Grpc.Core;
using Wrenn.Guest.Protocol.V1;
using Wrenn.Silo.Data;
using Wrenn.Silo.Runtime.Grains;
using Wrenn.Silo.Sandboxes;

namespace Wrenn.Silo.Grains;

/// <summary>
/// One sandbox, on the silo whose host runs its VM. Its record (state, VM handle, deadline) is
/// written at every transition; after a silo restart the next activation re-adopts the VM or, if
/// it is gone, marks the sandbox lost and frees what it held.
/// </summary>
public sealed partial class SandboxGrain(
    SandboxStore store,
    TemplateCatalog templates,
    SandboxVms vms,
    AuditLog audit,
    PluginHost host,
    WarmBase warmBase,
    Microsoft.Extensions.Options.IOptions<SandboxOptions> options,
    ILogger<SandboxGrain> logger) : Grain, ISandboxGrain
{
    private const string TimeoutReminder = "timeout";
    private const string RetentionReminder = "retention";
    private SandboxRecord? _record;
    private AgentClient? _agent;
    private IAsyncDisposable? _clock;
    private CancellationTokenSource? _memoryWatch;

    private string Id => Context.Id.Key;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _record = await store.GetAsync(Id, cancellationToken);
        switch (_record)
        {
            case { State: SandboxState.Running, Vm: { } vm }:
                if (await vms.IsAliveAsync(vm, cancellationToken))
                {
                    AttachTo(vm);
                    LogAdopted(Id);
                }
                else
                {
                    await EndAsync(SandboxState.Lost, "its VM was no longer running when the silo started (host reboot or crash)", vm);
                }
                break;
            case { State: SandboxState.Creating }:
                // The silo stopped in the middle of creating it: whatever was acquired goes.
                await EndAsync(SandboxState.Failed, "the silo stopped while creating it", _record.Vm);
                break;
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => await DetachAsync();

    public async Task<SandboxInfo> CreateAsync(Caller caller, CreateSandbox request, CancellationToken cancellationToken)
    {
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
        if (template.Kind == TemplateKind.Snapshot && template.Source.Host != Context.SiloName)
            throw new GrainException(ErrorCodes.FailedPrecondition, $"Template '{template.Name}' lives on host {template.Source.Host}; its sandboxes start there.");
        // A snapshot template's size is baked in: its memory and devices were frozen with it.
        var size = template.Kind == TemplateKind.Snapshot
            ? new VmSize(template.Vcpus, template.MemoryMib)
            : new VmSize(request.Vcpus > 0 ? request.Vcpus : template.Vcpus, request.MemoryMib > 0 ? request.MemoryMib : template.MemoryMib);

        var host = Context.SiloName;
        var now = DateTimeOffset.UtcNow;
        _record = await store.InsertAsync(new SandboxRecord(Id, caller.TeamId, template.Id, host, SandboxState.Creating, size.Vcpus, size.MemoryMib,
            now, null, request.Metadata ?? new Dictionary<string, string>(), null, null, 0), cancellationToken);
        SandboxVm vm;
        try
        {
            var image = GuestImage.FromDirectory(template.Source.ImageDir);
            // Every create is a restore where it can be: a snapshot template, or the warm base at its default size.
            var snapshot = template.Kind == TemplateKind.Snapshot ? template.Source.Snapshot : warmBase.For(template.Source.ImageDir, size);
            vm = snapshot is not null
                ? await vms.CreateFromTemplateAsync(Id, snapshot, image, cancellationToken)
                : await vms.CreateAsync(Id, image, size, cancellationToken);
        }
        catch (Exception e)
        {
            // SandboxVms undid its own steps; the reservation and the record are ours to settle.
            await EndAsync(SandboxState.Failed, Describe(e), vm: null);
            await audit.RecordAsync(caller, "sandbox.create.failed", Id, new { error = Describe(e) }, CancellationToken.None);
            throw new GrainException(e is OperationCanceledException ? ErrorCodes.Cancelled : ErrorCodes.Internal, $"Sandbox {Id} could not be created: {Describe(e)}");
        }

        var deadline = DateTimeOffset.UtcNow.AddSeconds(request.TimeoutSeconds);
        _record = await store.UpdateAsync(_record with { State = SandboxState.Running, Vm = vm, Deadline = deadline }, CancellationToken.None);
        AttachTo(vm);
        await Context.SetReminderAsync(TimeoutReminder, deadline - DateTimeOffset.UtcNow, null, CancellationToken.None);
        await audit.RecordAsync(caller, "sandbox.create", Id, new { template = template.Name, size.Vcpus, size.MemoryMib }, CancellationToken.None);
        return _record.ToInfo();
    }

    public Task<SandboxInfo> GetAsync(Caller caller) => Task.FromResult(Visible(caller).ToInfo());

    public async Task<ExecOutcome> ExecAsync(Caller caller, ExecRequest request, CancellationToken cancellationToken)
    {
        var agent = RunningAgent(caller);
        try
        {
            var result = await agent.ExecAsync(ToStart(request), cancellationToken, TimeoutOf(request));
            return new ExecOutcome(result.ExitCode, Encoding.UTF8.GetString(result.Stdout), Encoding.UTF8.GetString(result.Stderr));
        }
        catch (Exception e) when (e is AgentException or OperationCanceledException)
        {
            throw ExecFailed(e, request, cancellationToken);
        }
    }

    public async IAsyncEnumerable<ExecEvent> ExecStreamAsync(Caller caller, ExecRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var agent = RunningAgent(caller);
        await using var events = agent.StartAsync(ToStart(request), cancellationToken, TimeoutOf(request)).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            ProcessEvent next;
            try
            {
                if (!await events.MoveNextAsync())
                    yield break;
                next = events.Current;
            }
            catch (Exception e) when (e is AgentException or OperationCanceledException)
            {
                throw ExecFailed(e, request, cancellationToken);
            }
            yield return next.EventCase switch
            {
                ProcessEvent.EventOneofCase.Started => new ExecEvent(ExecEventKind.Started, Pid: next.Started.Pid),
                ProcessEvent.EventOneofCase.Stdout => new ExecEvent(ExecEventKind.Stdout, Data: next.Stdout.Data.ToByteArray()),
                ProcessEvent.EventOneofCase.Stderr => new ExecEvent(ExecEventKind.Stderr, Data: next.Stderr.Data.ToByteArray()),
                _ => new ExecEvent(ExecEventKind.Exited, ExitCode: next.Exited.ExitCode),
            };
        }
    }

    public async IAsyncEnumerable<byte[]> ReadFileAsync(Caller caller, string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var agent = RunningAgent(caller);
        await using var chunks = agent.ReadFileAsync(path, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await chunks.MoveNextAsync())
                    yield break;
            }
            catch (AgentException e)
            {
                throw FileFailed(e, path);
            }
            yield return chunks.Current.ToArray();
        }
    }

    public async Task<FileEntry> WriteFileAsync(Caller caller, string path, byte[] content, CancellationToken cancellationToken)
    {
        var agent = RunningAgent(caller);
        try
        {
            var entry = await agent.WriteAllBytesAsync(path, content, cancellationToken);
            return ToEntry(entry);
        }
        catch (AgentException e)
        {
            throw FileFailed(e, path);
        }
    }

    public async Task<FileEntry> WriteFileChunkAsync(Caller caller, string path, long offset, byte[] data, bool truncate, CancellationToken cancellationToken)
    {
        var agent = RunningAgent(caller);
        if (offset < 0)
            throw new GrainException(ErrorCodes.InvalidArgument, $"A write offset cannot be negative (got {offset}).");
        try
        {
            return ToEntry(await agent.WriteChunkAsync(path, offset, data, truncate, cancellationToken));
        }
        catch (AgentException e)
        {
            throw FileFailed(e, path);
        }
    }

    public async Task<IReadOnlyList<FileEntry>> ListDirAsync(Caller caller, string path, CancellationToken cancellationToken)
    {
        var agent = RunningAgent(caller);
        try
        {
            return (await agent.ListAsync(path, cancellationToken)).Select(ToEntry).ToList();
        }
        catch (AgentException e)
        {
            throw FileFailed(e, path);
        }
    }

    public async Task<SandboxInfo> SetTimeoutAsync(Caller caller, int seconds)
    {
        var record = Visible(caller);
        if (seconds <= 0)
            throw new GrainException(ErrorCodes.InvalidArgument, $"A sandbox's timeout must be at least 1 second (got {seconds}).");
        if (record.State == SandboxState.Paused)
        {
            _record = await store.UpdateAsync(record with { Remaining = TimeSpan.FromSeconds(seconds) }, CancellationToken.None);
            await audit.RecordAsync(caller, "sandbox.set-timeout", Id, new { seconds }, CancellationToken.None);
            return _record.ToInfo();
        }
        if (record.State != SandboxState.Running)
            throw NotRunning(record);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(seconds);
        _record = await store.UpdateAsync(record with { Deadline = deadline }, CancellationToken.None);
        await Context.SetReminderAsync(TimeoutReminder, TimeSpan.FromSeconds(seconds), null, CancellationToken.None);
        await audit.RecordAsync(caller, "sandbox.set-timeout", Id, new { seconds }, CancellationToken.None);
        return _record.ToInfo();
    }

    public async Task<SandboxInfo> PauseAsync(Caller caller)
    {
        var record = Visible(caller);
        if (record.State == SandboxState.Paused)
            return record.ToInfo();
        if (record.State != SandboxState.Running || record.Vm is not { } vm)
            throw NotRunning(record);
        await DetachAsync();
        PausedSandboxVm paused;
        try
        {
            paused = await vms.PauseAsync(vm, CancellationToken.None);
        }
        catch (Exception e)
        {
            // The pause undid itself: the VM runs on.
            AttachTo(vm);
            throw new GrainException(ErrorCodes.Internal, $"Sandbox {Id} could not be paused and keeps running: {Describe(e)}");
        }
        var remaining = record.Deadline is { } deadline ? deadline - DateTimeOffset.UtcNow : (TimeSpan?)null;
        _record = await store.UpdateAsync(record with
        {
            State = SandboxState.Paused, Vm = null, Paused = paused, Deadline = null,
            Remaining = remaining is { } r && r > TimeSpan.Zero ? r : TimeSpan.FromSeconds(1),
        }, CancellationToken.None);
        await Context.RemoveReminderAsync(TimeoutReminder, CancellationToken.None);
        await Context.SetReminderAsync(RetentionReminder, options.Value.PausedRetention, null, CancellationToken.None);
        await ReleaseReservationAsync(record);
        await audit.RecordAsync(caller, "sandbox.pause", Id, null, CancellationToken.None);
        return _record.ToInfo();
    }

    public async Task<SandboxInfo> ResumeAsync(Caller caller)
    {
        var record = Visible(caller);
        if (record.State == SandboxState.Running)
            return record.ToInfo();
        if (record.State != SandboxState.Paused || record.Paused is not { } paused)
            throw NotRunning(record);
        var template = await templates.GetAsync(record.TemplateId, CancellationToken.None)
            ?? throw new GrainException(ErrorCodes.FailedPrecondition, $"Sandbox {Id}'s template {record.TemplateId} is gone; it cannot be resumed.");
        await Context.Grains.Get<IHostSlotGrain>(record.Host, record.Host).ReserveAsync(Caller.System, Id, record.Vcpus, record.MemoryMib, SandboxService.DiskPerSandboxMib);
        SandboxVm vm;
        try
        {
            vm = await vms.ResumeAsync(paused, GuestImage.FromDirectory(template.Source.ImageDir!), CancellationToken.None);
        }
        catch (Exception e)
        {
            await ReleaseReservationAsync(record);
            throw new GrainException(ErrorCodes.Internal, $"Sandbox {Id} could not be resumed and stays paused: {Describe(e)}");
        }
        var deadline = DateTimeOffset.UtcNow + (record.Remaining ?? TimeSpan.FromMinutes(5));
        _record = await store.UpdateAsync(record with { State = SandboxState.Running, Vm = vm, Paused = null, Deadline = deadline, Remaining = null }, CancellationToken.None);
        AttachTo(vm);
        await Context.RemoveReminderAsync(RetentionReminder, CancellationToken.None);
        await Context.SetReminderAsync(TimeoutReminder, deadline - DateTimeOffset.UtcNow, null, CancellationToken.None);
        await audit.RecordAsync(caller, "sandbox.resume", Id, null, CancellationToken.None);
        return _record.ToInfo();
    }

    public async Task<TemplateInfo> CreateTemplateAsync(Caller caller, string name)
    {
        var record = Visible(caller);
        if (record.State != SandboxState.Running || record.Vm is not { } vm)
            throw NotRunning(record);
        if (string.IsNullOrWhiteSpace(name) || name.Length > 64 || name == TemplateCatalog.BaseName)
            throw new GrainException(ErrorCodes.InvalidArgument, $"'{name}' cannot name a template: use 1 to 64 characters, not 'base'.");
        var source = await templates.GetAsync(record.TemplateId, CancellationToken.None);
        var imageDir = source?.Source.ImageDir ?? throw new GrainException(ErrorCodes.FailedPrecondition, $"Sandbox {Id}'s template is gone; its guest image is unknown.");
        var directory = Path.Combine(host.DataDir, "templates", $"{Id}-{DateTime.UtcNow:yyyyMMddHHmmss}");
        await DetachAsync();
        TemplateSnapshot frozen;
        try
        {
            (frozen, vm) = await vms.CreateTemplateAsync(vm, directory, GuestImage.FromDirectory(imageDir), CancellationToken.None);
        }
        catch (TemplateFailedException e) when (e.Resumed is { } resumed)
        {
            _record = await store.UpdateAsync(record with { Vm = resumed }, CancellationToken.None);
            AttachTo(resumed);
            throw new GrainException(ErrorCodes.Internal, $"A template could not be made from sandbox {Id} (it runs on): {Describe(e.InnerException!)}");
        }
        catch (TemplateFailedException e) when (e.StillPaused is { } paused)
        {
            // It could not be resumed: it is paused, with its files, and can be resumed later.
            _record = await store.UpdateAsync(record with { State = SandboxState.Paused, Vm = null, Paused = paused,
                Remaining = record.Deadline is { } d && d > DateTimeOffset.UtcNow ? d - DateTimeOffset.UtcNow : TimeSpan.FromSeconds(1), Deadline = null }, CancellationToken.None);
            await ReleaseReservationAsync(record);
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
        _record = await store.UpdateAsync(record with { Vm = vm }, CancellationToken.None);
        AttachTo(vm);
        try
        {
            var row = await templates.AddAsync(caller.TeamId, name, false, TemplateKind.Snapshot, record.Vcpus, record.MemoryMib,
                new TemplateSource(ImageDir: imageDir, SnapshotDir: directory, Host: Context.SiloName, Snapshot: frozen,
                    ParentTemplateId: source?.Kind == TemplateKind.Snapshot ? source.Id : null), CancellationToken.None);
            await audit.RecordAsync(caller, "template.create", row.Id, new { name, from = Id }, CancellationToken.None);
            return await Context.Grains.Get<ITemplateGrain>(row.Id).GetAsync(caller);
        }
        catch
        {
            Directory.Delete(directory, recursive: true); // e.g. the name is taken: the frozen files are nobody's
            throw;
        }
    }

    public async Task DestroyAsync(Caller caller)
    {
        var record = Visible(caller);
        if (record.State is SandboxState.Destroyed or SandboxState.Failed or SandboxState.Lost)
            return;
        await EndAsync(SandboxState.Destroyed, null, record.Vm);
        await audit.RecordAsync(caller, "sandbox.destroy", Id, null, CancellationToken.None);
        LogDestroyed(Id, caller.IsSystem ? "the silo" : caller.KeyId ?? caller.TeamId);
    }

    public async Task ReceiveReminderAsync(string name, CancellationToken cancellationToken)
    {
        if (name == RetentionReminder && _record is { State: SandboxState.Paused })
        {
            LogRetentionPassed(Id, options.Value.PausedRetention);
            await EndAsync(SandboxState.Destroyed, $"it stayed paused longer than the retention of {options.Value.PausedRetention}", null);
            await audit.RecordAsync(Caller.System, "sandbox.retention", Id, null, CancellationToken.None);
            return;
        }
        if (name != TimeoutReminder || _record is not { State: SandboxState.Running, Deadline: { } deadline })
            return;
        if (DateTimeOffset.UtcNow < deadline)
        {
            await Context.SetReminderAsync(TimeoutReminder, deadline - DateTimeOffset.UtcNow, null, cancellationToken);
            return;
        }
        LogTimedOut(Id, deadline);
        await EndAsync(SandboxState.Destroyed, "its timeout passed", _record.Vm);
        await audit.RecordAsync(Caller.System, "sandbox.timeout", Id, null, CancellationToken.None);
    }

    /// <summary>Ends the sandbox: its VM, network, disk and reservation go; the record says how it ended.</summary>
    private async Task EndAsync(SandboxState state, string? error, SandboxVm? vm)
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
        await Context.RemoveReminderAsync(TimeoutReminder, CancellationToken.None);
        await Context.RemoveReminderAsync(RetentionReminder, CancellationToken.None);
        _record = await store.UpdateAsync(record with { State = state, Error = error ?? record.Error, Vm = null, Paused = null }, CancellationToken.None);
        Context.DeactivateOnIdle();
    }

    private async Task ReleaseReservationAsync(SandboxRecord record)
    {
        try
        {
            await Context.Grains.Get<IHostSlotGrain>(record.Host, record.Host).ReleaseAsync(Caller.System, Id);
        }
        catch (GrainException e)
        {
            LogReleaseFailed(e, Id, record.Host);
        }
    }

    private void AttachTo(SandboxVm vm)
    {
        _agent = vm.Agent();
        _clock = vms.KeepClock(vm);
        _memoryWatch = new CancellationTokenSource();
        if (vms.WatchMemory(vm, _memoryWatch.Token) is { } failed)
            _ = FailWhenMemoryDiesAsync(vm, failed);
    }

    /// <summary>A guest whose page server died would hang on its next fault: the sandbox fails cleanly instead.</summary>
    private async Task FailWhenMemoryDiesAsync(SandboxVm vm, Task<string> failed)
    {
        string reason;
        try
        {
            reason = await failed;
        }
        catch (OperationCanceledException)
        {
            return; // detached on purpose (pause, destroy, deactivation)
        }
        Context.RegisterTimer(async _ =>
        {
            if (_record is { State: SandboxState.Running, Vm: { } current } && current.Vm.Pid == vm.Vm.Pid)
                await EndAsync(SandboxState.Failed, reason, current);
        }, TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    private async Task DetachAsync()
    {
        _memoryWatch?.Cancel();
        _memoryWatch = null;
        if (_clock is not null)
            await _clock.DisposeAsync();
        _clock = null;
        _agent?.Dispose();
        _agent = null;
    }

    /// <summary>The record, if the caller's team owns it; otherwise the sandbox does not exist for them.</summary>
    private SandboxRecord Visible(Caller caller)
    {
        if (_record is null || !(caller.IsSystem || caller.TeamId == _record.TeamId))
        {
            if (_record is null)
                Context.DeactivateOnIdle();
            throw NotFound();
        }
        return _record;
    }

    private AgentClient RunningAgent(Caller caller)
    {
        var record = Visible(caller);
        return record.State == SandboxState.Running && _agent is not null ? _agent : throw NotRunning(record);
    }

    private GrainException NotFound() => new(ErrorCodes.NotFound, $"No sandbox {Id} in your team.");

    private GrainException NotRunning(SandboxRecord record) =>
        new(ErrorCodes.FailedPrecondition, $"Sandbox {Id} is {record.State.ToString().ToLowerInvariant()}{(record.Error is null ? "" : $" ({record.Error})")}; it must be running.");

    private GrainException ExecFailed(Exception e, ExecRequest request, CancellationToken cancellationToken) => e switch
    {
        AgentException { Code: StatusCode.DeadlineExceeded } =>
            new(ErrorCodes.DeadlineExceeded, $"'{request.Command}' ran past its timeout of {request.TimeoutSeconds} s and was killed."),
        _ when cancellationToken.IsCancellationRequested && (Context.CancellingSharedCalls || _record?.State != SandboxState.Running) =>
            new(ErrorCodes.Cancelled, $"'{request.Command}' was cancelled: sandbox {Id} was destroyed while it ran."),
        _ when cancellationToken.IsCancellationRequested => new(ErrorCodes.Cancelled, $"'{request.Command}' was cancelled."),
        AgentException { Code: StatusCode.NotFound or StatusCode.InvalidArgument or StatusCode.PermissionDenied } c =>
            new(ErrorCodes.InvalidArgument, $"'{request.Command}' could not be started: {c.Message}"),
        _ => new(ErrorCodes.Unavailable, $"Sandbox {Id}'s agent did not answer: {e.Message}"),
    };

    private static GrainException FileFailed(AgentException e, string path) => e.Code switch
    {
        StatusCode.NotFound => new(ErrorCodes.NotFound, $"{path}: no such file or directory in the sandbox."),
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.AlreadyExists or StatusCode.PermissionDenied =>
            new(ErrorCodes.InvalidArgument, $"{path}: {e.Message}"),
        _ => new(ErrorCodes.Unavailable, $"{path}: the sandbox's agent did not answer ({e.Message})."),
    };

    private static StartRequest ToStart(ExecRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Command))
            throw new GrainException(ErrorCodes.InvalidArgument, "An exec needs a command: a program on the guest's PATH or an absolute path.");
        var start = new StartRequest { Command = request.Command, Cwd = request.Cwd ?? "" };
        if (request.Args is not null)
            start.Args.AddRange(request.Args);
        foreach (var (name, value) in request.Env ?? new Dictionary<string, string>())
            start.Env[name] = value;
        return start;
    }

    private static TimeSpan? TimeoutOf(ExecRequest request) =>
        request.TimeoutSeconds switch
        {
            null => null,
            <= 0 => throw new GrainException(ErrorCodes.InvalidArgument, $"An exec timeout must be at least 1 second (got {request.TimeoutSeconds})."),
            var s => TimeSpan.FromSeconds(s.Value),
        };

    private static FileEntry ToEntry(EntryInfo entry) =>
        new(entry.Path, entry.Name, entry.Type == EntryType.Directory, entry.Size,
            entry.ModifiedUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(entry.ModifiedUnixMs) : null);

    private static string Describe(Exception e) => e switch
    {
        Wrenn.Abstractions.Vmm.VmmException { ConsoleTail: { Length: > 0 } tail } vmm => $"{vmm.Message}\nVM console:\n{tail}",
        AggregateException { InnerExceptions.Count: > 0 } a => string.Join("; ", a.InnerExceptions.Select(i => i.Message)),
        _ => e.Message,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} stayed paused longer than the retention of {Retention}; deleting it")]
    private partial void LogRetentionPassed(string sandboxId, TimeSpan retention);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId}: re-adopted its running VM")]
    private partial void LogAdopted(string sandboxId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} destroyed by {Who}")]
    private partial void LogDestroyed(string sandboxId, string who);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} reached its deadline {Deadline}; destroying it")]
    private partial void LogTimedOut(string sandboxId, DateTimeOffset deadline);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Destroying sandbox {SandboxId} left something behind; the reconciler removes it")]
    private partial void LogDestroyIncomplete(Exception exception, string sandboxId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release sandbox {SandboxId}'s reservation on host {Host}")]
    private partial void LogReleaseFailed(Exception exception, string sandboxId, string host);
}
