namespace Wrenn.Silo.Runtime.Grains;

/// <summary>Why an activation ends.</summary>
public enum DeactivationReason
{
    /// <summary>No calls for the configured idle time.</summary>
    Idle,

    /// <summary>The grain asked for it (<see cref="IGrainContext.DeactivateOnIdle"/>).</summary>
    Requested,

    /// <summary>The silo shuts down gracefully.</summary>
    SiloStopping,
}

/// <summary>
/// Base class of grain implementations. The runtime creates one per activation (constructor
/// parameters come from the silo's services), sets <see cref="Context"/>, then runs
/// <see cref="OnActivateAsync"/> as the first turn. <see cref="OnDeactivateAsync"/> runs as the last
/// turn of a graceful deactivation; it does not run when a silo crashes, so keep durable state
/// durable on the way, not only at the end.
/// </summary>
public abstract class Grain
{
    private IGrainContext? _context;

    /// <summary>The activation's identity and services; set before <see cref="OnActivateAsync"/>.</summary>
    public IGrainContext Context
    {
        get => _context ?? throw new InvalidOperationException("The grain context is set when the runtime activates the grain, not in the constructor.");
        internal set => _context = value;
    }

    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public virtual Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => Task.CompletedTask;
}
