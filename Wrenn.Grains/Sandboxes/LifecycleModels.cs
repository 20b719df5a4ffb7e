namespace Wrenn.Grains.Sandboxes;

// Lifecycle settings cross silos and are stored with the sandbox (as JSON): add members with new
// ids, never renumber or reuse one.

/// <summary>What a sandbox's timeout does when it passes.</summary>
[GenerateSerializer]
[Alias("wrenn.TimeoutAction")]
public enum TimeoutAction { Destroy, Pause }

/// <summary>Why a paused sandbox was paused.</summary>
[GenerateSerializer]
[Alias("wrenn.PauseReason")]
public enum PauseReason
{
    /// <summary>A caller asked (pauseSandbox), or a template could not hand its source back running.</summary>
    User,

    /// <summary>Its autoPause found it idle.</summary>
    Idle,

    /// <summary>Its timeout passed with onTimeout PAUSE.</summary>
    Timeout,

    /// <summary>Its silo paused everything on exit (--on-exit pause).</summary>
    Shutdown,
}

/// <summary>
/// How a sandbox stops and starts by itself. Kept in its record: never reset by a pause, a resume,
/// a restart or a re-adoption; only <c>updateSandboxLifecycle</c> changes it.
/// </summary>
/// <param name="OnTimeout">What the timeout does.</param>
/// <param name="IdleSeconds">With a value, the sandbox pauses itself after this many seconds idle (autoPause); null: never.</param>
/// <param name="AutoResume">A call that needs the VM wakes a paused sandbox instead of failing.</param>
/// <param name="TimeoutSeconds">The running time a resume after a timeout pause gives it (its create's timeout, or the last setSandboxTimeout).</param>
[GenerateSerializer]
[Alias("wrenn.SandboxLifecycle")]
public sealed record SandboxLifecycle(
    [Id(0)] TimeoutAction OnTimeout = TimeoutAction.Destroy,
    [Id(1)] int? IdleSeconds = null,
    [Id(2)] bool AutoResume = false,
    [Id(3)] int? TimeoutSeconds = null)
{
    /// <summary>The shortest autoPause: a shorter one would pause a sandbox between two calls of one task.</summary>
    public const int MinIdleSeconds = 5;

    /// <summary>The longest autoPause (30 days): beyond, a timeout is the tool.</summary>
    public const int MaxIdleSeconds = 30 * 24 * 3600;

    public static readonly SandboxLifecycle Default = new();
}

/// <summary>
/// A change of lifecycle settings: a null member keeps its value; <see cref="SetsAutoPause"/> says
/// whether <see cref="IdleSeconds"/> is given (a null one with it turns autoPause off).
/// </summary>
[GenerateSerializer]
[Alias("wrenn.LifecycleChange")]
public sealed record LifecycleChange(
    [Id(0)] TimeoutAction? OnTimeout = null,
    [Id(1)] bool SetsAutoPause = false,
    [Id(2)] int? IdleSeconds = null,
    [Id(3)] bool? AutoResume = null);
