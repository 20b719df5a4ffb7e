using Microsoft.Extensions.Logging;
using Wrenn.Grains.Runtime;
using Wrenn.Silo.Runtime.State;
using Wrenn.Silo.Runtime.Timers;

namespace Wrenn.Silo.Runtime.Activations;

/// <summary>What activations need from their silo.</summary>
internal sealed class ActivationHost(
    string siloName,
    IGrainFactory grains,
    IServiceProvider services,
    StateStore states,
    ReminderStore reminders,
    TimeSpan deactivationTimeout,
    ILogger logger,
    Func<Activation, bool, Task> retire)
{
    public string SiloName => siloName;

    public IGrainFactory Grains => grains;

    public IServiceProvider Services => services;

    public StateStore States => states;

    public ReminderStore Reminders => reminders;

    public TimeSpan DeactivationTimeout => deactivationTimeout;

    public ILogger Logger => logger;

    /// <summary>Removes a finished activation from the silo's table (and, unless fenced, from the directory).</summary>
    public Task RetireAsync(Activation activation, bool releaseDirectoryEntry) => retire(activation, releaseDirectoryEntry);
}
