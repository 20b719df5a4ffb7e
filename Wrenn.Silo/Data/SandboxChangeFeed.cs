using System.Collections.Concurrent;
using System.Threading.Channels;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.Silo.Data;

/// <summary>A sandbox record was written: the record now, and its state before (null for a new sandbox).</summary>
public sealed record SandboxRecordChanged(SandboxRecord Record, SandboxState? Before);

/// <summary>
/// Sandbox record writes, pushed to whoever listens (the API's <c>sandboxEvents</c>). <see cref="SandboxStore"/>
/// publishes every write it made; listeners filter by team and, optionally, one sandbox. This silo's
/// implementation is in-process only: a listener hears the writes made on its own silo. Carrying them
/// across silos (e.g. on Orleans streams) means another implementation of this interface, nothing else.
/// </summary>
public interface ISandboxChangeFeed
{
    /// <summary>Never blocks the writer: a listener that falls far behind loses its oldest changes.</summary>
    void Publish(SandboxRecordChanged change);

    /// <summary>Starts listening at once (before the first read); dispose, or cancel the token, to stop.</summary>
    SandboxChangeSubscription Subscribe(string teamId, string? sandboxId, CancellationToken cancellationToken);
}

/// <summary>One listener's changes, in the order they were published.</summary>
public sealed class SandboxChangeSubscription(ChannelReader<SandboxRecordChanged> changes, Action stop) : IDisposable
{
    public ChannelReader<SandboxRecordChanged> Changes { get; } = changes;

    public void Dispose() => stop();
}

/// <summary>The in-process feed: one bounded channel per listener, written by every publish that matches it.</summary>
public sealed class InProcessSandboxChangeFeed : ISandboxChangeFeed
{
    /// <summary>Changes one listener may hold unread before the oldest are dropped (state changes are rare; this bounds a stuck listener).</summary>
    public const int Backlog = 10_000;

    private readonly ConcurrentDictionary<Listener, byte> _listeners = new();

    public void Publish(SandboxRecordChanged change)
    {
        foreach (var listener in _listeners.Keys)
            if (listener.Wants(change.Record))
                listener.Channel.Writer.TryWrite(change);
    }

    public SandboxChangeSubscription Subscribe(string teamId, string? sandboxId, CancellationToken cancellationToken)
    {
        var listener = new Listener(teamId, sandboxId,
            Channel.CreateBounded<SandboxRecordChanged>(new BoundedChannelOptions(Backlog) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true }));
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

    private sealed record Listener(string TeamId, string? SandboxId, Channel<SandboxRecordChanged> Channel)
    {
        public bool Wants(SandboxRecord record) =>
            (TeamId == Caller.System.TeamId || record.TeamId == TeamId) && (SandboxId is null || record.Id == SandboxId);
    }
}
