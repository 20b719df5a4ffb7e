using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class TimeoutActionType : EnumerationGraphType<TimeoutAction>
{
    public TimeoutActionType()
    {
        Name = "TimeoutAction";
        Description = "What a sandbox's timeout does when it passes.";
        Values.FindByValue(TimeoutAction.Destroy)!.Description = "Destroys it: its VM, disk and files are gone.";
        Values.FindByValue(TimeoutAction.Pause)!.Description = "Pauses it to disk (pausedReason TIMEOUT), files and processes kept; a resume gives it a whole timeout again.";
    }
}

public sealed class PauseReasonType : EnumerationGraphType<PauseReason>
{
    public PauseReasonType()
    {
        Name = "PauseReason";
        Description = "Why a paused sandbox was paused.";
        Values.FindByValue(PauseReason.User)!.Description = "pauseSandbox was called.";
        Values.FindByValue(PauseReason.Idle)!.Description = "Its autoPause found it idle for idleSeconds.";
        Values.FindByValue(PauseReason.Timeout)!.Description = "Its timeout passed with onTimeout PAUSE.";
        Values.FindByValue(PauseReason.Shutdown)!.Description = "Its silo paused every sandbox when it stopped (--on-exit pause).";
    }
}

public sealed record AutoPauseInput
{
    public int IdleSeconds { get; init; }
}

public sealed class AutoPauseInputType : InputObjectGraphType<AutoPauseInput>
{
    public AutoPauseInputType()
    {
        Name = "AutoPauseInput";
        Description = "Pause the sandbox by itself once it is idle: no exec, execStream, process call, processOutput or watchDir subscription, file transfer or forwarded connection open or active, and its guest using less than a share of one vCPU (10 % by default; a build running with nobody attached keeps it running). The platform's own calls (health, metrics, clock) and sandboxMetrics subscriptions never count as use.";
        Field<NonNullGraphType<IntGraphType>>("idleSeconds").Description($"Seconds idle before it pauses: at least {SandboxLifecycle.MinIdleSeconds}.");
    }
}

public sealed class AutoPauseType : ObjectGraphType<int>
{
    public AutoPauseType()
    {
        Name = "AutoPause";
        Description = "The sandbox pauses by itself after this long idle (pausedReason IDLE).";
        Field<NonNullGraphType<IntGraphType>, int>("idleSeconds").Resolve(c => c.Source);
    }
}
