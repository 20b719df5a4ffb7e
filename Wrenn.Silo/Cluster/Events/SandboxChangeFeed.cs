using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.Silo.Cluster.Events;

/// <summary>
/// Sandbox record writes, pushed to whoever listens (the API's <c>sandboxEvents</c>).
/// <see cref="Data.SandboxStore"/> publishes every write it made; listeners filter by team and,
/// optionally, one sandbox.
/// </summary>
public interface ISandboxChangeFeed
{
    /// <summary>Never blocks the writer: a listener that falls far behind loses its oldest changes.</summary>
    void Publish(SandboxChange change);

    /// <summary>Starts listening at once (before the first read); dispose, or cancel the token, to stop.</summary>
    SandboxChangeSubscription Subscribe(string teamId, string? sandboxId, CancellationToken cancellationToken);
}

/// <summary>One listener's changes, in the order they were published.</summary>
public sealed class SandboxChangeSubscription(ChannelReader<SandboxChange> changes, Action stop) : IDisposable
{
    public ChannelReader<SandboxChange> Changes { get; } = changes;

    public void Dispose() => stop();
}

/// <summary>
/// The cluster's feed: a change written on this host goes to this silo's listeners at once and, in
/// one one-way message each, to the events grain of every other live host, which hands it to its
/// own listeners. Nobody polls: an idle subscriber costs nothing but its channel.
/// </summary>
public sealed class SandboxChangeFeed(IServiceProvider services) : ISandboxChangeFeed
{
    /// <summary>Changes one listener may hold unread before the oldest are dropped (state changes are rare; this bounds a stuck listener).</summary>
    public const int Backlog = 10_000;

    private readonly ConcurrentDictionary<Listener, byte> _listeners = new();

    // Resolved on first use: the grain factory depends (through Orleans' call filters) on the store that publishes here.
    private IGrainFactory Grains => services.GetRequiredService<IGrainFactory>();

    private ClusterHosts Hosts => services.GetRequiredService<ClusterHosts>();

    public void Publish(SandboxChange change)
    {
        DeliverHere(change);
        foreach (var host in Hosts.Live())
        {
            if (host != Hosts.Local)
                _ = Grains.GetGrain<ISandboxEventsGrain>(host).DeliverAsync(change); // one-way: nothing to wait for
        }
    }

    /// <summary>A change written on another host (or this one) reaches this silo's listeners.</summary>
    public void DeliverHere(SandboxChange change)
    {
        foreach (var listener in _listeners.Keys)
        {
            if (listener.Wants(change.Sandbox))
                listener.Channel.Writer.TryWrite(change);
        }
    }

    public SandboxChangeSubscription Subscribe(string teamId, string? sandboxId, CancellationToken cancellationToken)
    {
        var listener = new Listener(teamId, sandboxId,
            Channel.CreateBounded<SandboxChange>(new BoundedChannelOptions(Backlog) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true }));
        _listeners.TryAdd(listener, 0);
        var registration = default(CancellationTokenRegistration);
        void Stop()
        {
            if (_listeners.TryRemove(listener, out _))
                listener.Channel.Writer.TryComplete();
            registration.Dispose();
        }
        registration = cancellationToken.Register(Stop);
        return new SandboxChangeSubscription(listener.Channel.Reader, Stop);
    }

    private sealed record Listener(string TeamId, string? SandboxId, Channel<SandboxChange> Channel)
    {
        public bool Wants(SandboxInfo sandbox) =>
            (TeamId == Caller.System.TeamId || sandbox.TeamId == TeamId) && (SandboxId is null || sandbox.Id == SandboxId);
    }
}
