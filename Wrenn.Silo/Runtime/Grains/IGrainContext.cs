using Wrenn.Grains.Runtime;
using Wrenn.Silo.Runtime.State;

namespace Wrenn.Silo.Runtime.Grains;

/// <summary>What an activation can ask of the runtime.</summary>
public interface IGrainContext
{
    GrainId Id { get; }

    /// <summary>Unique per activation: a grain that re-activates gets a new one.</summary>
    Guid ActivationId { get; }

    /// <summary>The silo this activation runs on.</summary>
    string SiloName { get; }

    IGrainFactory Grains { get; }

    /// <summary>Reads the named durable state (call it in <see cref="Grain.OnActivateAsync"/>).</summary>
    Task<IPersistentState<T>> GetStateAsync<T>(string name, CancellationToken cancellationToken) where T : new();

    /// <summary>
    /// Runs <paramref name="callback"/> as an exclusive turn after <paramref name="dueTime"/> and then
    /// every <paramref name="period"/> (once if <see cref="Timeout.InfiniteTimeSpan"/>), for as long as
    /// this activation lives. Timer turns do not keep the activation from going idle. Dispose to stop.
    /// </summary>
    IDisposable RegisterTimer(Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period);

    /// <summary>
    /// A durable reminder: <see cref="IRemindable.ReceiveReminderAsync"/> is called after
    /// <paramref name="dueIn"/> (and every <paramref name="period"/>), activating the grain if needed,
    /// also after silo restarts. Setting an existing name replaces it.
    /// </summary>
    Task SetReminderAsync(string name, TimeSpan dueIn, TimeSpan? period, CancellationToken cancellationToken);

    Task RemoveReminderAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// True while a [CancelsShared] call waits for or runs its turn: a shared call that sees its
    /// cancellation now was cancelled for it (e.g. an exec stopped by destroy), not by its caller.
    /// </summary>
    bool CancellingSharedCalls { get; }

    /// <summary>Deactivates this activation once the current turn ends.</summary>
    void DeactivateOnIdle();
}
