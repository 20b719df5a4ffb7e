using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Placement;
using Orleans.Runtime;
using Wrenn.Abstractions.Plugins;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Guest.Protocol;
using Wrenn.Silo.Cluster;
using Wrenn.Silo.Cluster.Placement;
using Wrenn.Silo.Data;
using Wrenn.Silo.Grains.Turns;
using Wrenn.Silo.Metrics;
using Wrenn.Silo.Quotas;
using Wrenn.Silo.Sandboxes;

namespace Wrenn.Silo.Grains;

/// <summary>
/// One sandbox, on the silo whose host runs its VM (host-affine placement; never moved). Its record
/// (state, VM handle, deadline) is written at every transition; after a silo restart the next
/// activation re-adopts the VM or, if it is gone, marks the sandbox lost and frees what it held.
/// The lifecycle reads in SandboxGrain.Lifecycle.cs, commands in SandboxGrain.Commands.cs, processes
/// that outlive a call in SandboxGrain.Processes.cs, files and watches in SandboxGrain.Files.cs,
/// timeouts and retention in SandboxGrain.Deadlines.cs, its team quota hold in SandboxGrain.Quotas.cs,
/// metrics sampling in SandboxGrain.Metrics.cs, its lifecycle settings in SandboxGrain.Settings.cs,
/// pausing when idle in SandboxGrain.Idle.cs and waking on use in SandboxGrain.Wake.cs.
/// </summary>
[GrainType(GrainTypes.Sandbox)]
[HostAffinePlacement]
[Immovable]
[Reentrant]
public sealed partial class SandboxGrain(
    SandboxStore store,
    TemplateCatalog templates,
    SandboxVms vms,
    AuditLog audit,
    PluginHost host,
    WarmBase warmBase,
    ILocalSiloDetails silo,
    IOptions<SandboxOptions> options,
    TeamQuotas quotas,
    SandboxTelemetry telemetry,
    SandboxActivity activity,
    ILogger<SandboxGrain> logger) : Grain, ISandboxGrain, IRemindable
{
    private readonly TurnGate _turns = new();
    private SandboxRecord? _record;
    private AgentClient? _agent;
    private IAsyncDisposable? _clock;
    private CancellationTokenSource? _memoryWatch;
    private LegacyAgentException? _legacyAgent;

    /// <summary>
    /// Ends when the VM this activation drives stops being driven (pause, template, destroy, failure,
    /// deactivation): attached outputs and watches, which hold no turn, end with it.
    /// </summary>
    private CancellationTokenSource? _attached;

    private string Id => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _record = await store.GetAsync(Id, cancellationToken);
        if (_record is not null && _record.Host != silo.Name)
        {
            // Placement never sends a sandbox elsewhere; this guards against a bug there, or a silo misnamed by hand.
            throw new GrainException(ErrorCodes.Unavailable, $"Sandbox {Id} lives on host {_record.Host}, not on {silo.Name}; it is not activated here.");
        }
        switch (_record)
        {
            case { State: SandboxState.Running, Vm: { } pausing, Paused: { } committed }:
                // The silo died in the middle of a pause (or a template) after its snapshot was complete: finish it.
                PausedSandboxVm paused;
                try
                {
                    paused = await vms.FinishPauseAsync(pausing, committed, cancellationToken);
                }
                catch (Exception e)
                {
                    LogPauseRepairIncomplete(e, Id);
                    paused = committed with { Disk = committed.Disk with { Attached = false } };
                }
                await BecomePausedAsync(paused, _record.PausedReason ?? PauseReason.User);
                LogPauseRepaired(Id);
                break;
            case { State: SandboxState.Running, Vm: { } vm }:
                if (await vms.AdoptAsync(vm, cancellationToken))
                {
                    // A VM an older Wrenn started may run the old agent, which this silo cannot drive.
                    if ((await vms.ProbeAgentAsync(vm, cancellationToken)) is { Kind: AgentKind.Connect } old)
                        _legacyAgent = new LegacyAgentException(Id, old.ToString());
                    await ReapplyEgressAsync(_record, cancellationToken);
                    AttachTo(vm);
                    await KeepDeadlineAsync();
                    LogAdopted(Id);
                }
                else
                {
                    await EndAsync(SandboxState.Lost, "its VM was no longer running when the silo started (host reboot or crash)", vm);
                }
                break;
            case { State: SandboxState.Paused }:
                await KeepRetentionAsync();
                break;
            case { State: SandboxState.Creating }:
                // The silo stopped in the middle of creating it: whatever was acquired goes.
                await EndAsync(SandboxState.Failed, "the silo stopped while creating it", _record.Vm);
                break;
            case { State: SandboxState.Destroyed or SandboxState.Failed or SandboxState.Lost }:
                // Ended: nothing to hold; idle collection takes the activation in its time.
                await ForgetTimersAsync();
                break;
        }
    }

    /// <summary>A live sandbox (running or paused) keeps its activation: it watches the VM and holds its timers.</summary>
    private void StayActive() => this.DelayDeactivation(TimeSpan.FromDays(365));

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => await DetachAsync();

    public async Task<SandboxInfo> GetAsync(Caller caller)
    {
        using var turn = await _turns.EnterSharedAsync(CancellationToken.None);
        return Visible(caller).ToInfo();
    }

    private void AttachTo(SandboxVm vm)
    {
        StayActive();
        _attached = new CancellationTokenSource();
        _agent = vm.Agent(telemetry.AgentCalls);
        _clock = vms.KeepClock(vm);
        _memoryWatch = new CancellationTokenSource();
        if (vms.WatchMemory(vm, _memoryWatch.Token) is { } failed)
            _ = FailWhenMemoryDiesAsync(vm, failed);
        StartSampling(vm);
        KeepIdleWatch();
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
        using var turn = await _turns.EnterExclusiveAsync();
        if (_record is { State: SandboxState.Running, Vm: { } current } && current.Vm.Pid == vm.Vm.Pid)
            await EndAsync(SandboxState.Failed, reason, current);
    }

    private async Task DetachAsync()
    {
        // First, so that the streams on the agent connection see an end, not a failure, when it closes.
        // Not disposed: a stream may still link to its token while unwinding (no timer is attached to it).
        _attached?.Cancel();
        _attached = null;
        StopSampling();
        StopIdleWatch();
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
                this.DeactivateOnIdle();
            throw NotFound();
        }
        return _record;
    }

    private GrainException NotFound() => new(ErrorCodes.NotFound, $"No sandbox {Id} in your team.");

    private GrainException NotRunning(SandboxRecord record) => record.State == SandboxState.Paused
        ? new(ErrorCodes.FailedPrecondition,
            $"Sandbox {Id} is paused ({PausedWhy(record.PausedReason)}); resume it first (resumeSandbox), or turn on autoResume (updateSandboxLifecycle) so that calls wake it.")
        : new(ErrorCodes.FailedPrecondition, $"Sandbox {Id} is {record.State.ToString().ToLowerInvariant()}{(record.Error is null ? "" : $" ({record.Error})")}; it must be running.");

    private static string PausedWhy(PauseReason? reason) => reason switch
    {
        PauseReason.Idle => "it was idle: autoPause",
        PauseReason.Timeout => "its timeout passed: onTimeout PAUSE",
        PauseReason.Shutdown => "its silo paused it on exit",
        _ => "by a pauseSandbox call",
    };

    private static string Describe(Exception e) => e switch
    {
        Wrenn.Abstractions.Vmm.VmmException { ConsoleTail: { Length: > 0 } tail } vmm => $"{vmm.Message}\nVM console:\n{tail}",
        AggregateException { InnerExceptions.Count: > 0 } a => string.Join("; ", a.InnerExceptions.Select(i => i.Message)),
        _ => e.Message,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sandbox {SandboxId}: the silo stopped in the middle of pausing it, after its snapshot was complete; the pause was finished and it is paused")]
    private partial void LogPauseRepaired(string sandboxId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sandbox {SandboxId}: finishing an interrupted pause left something behind; the reconciler removes it")]
    private partial void LogPauseRepairIncomplete(Exception exception, string sandboxId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId}: re-adopted its running VM")]
    private partial void LogAdopted(string sandboxId);
}
