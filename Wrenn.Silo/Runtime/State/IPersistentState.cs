namespace Wrenn.Silo.Runtime.State;

/// <summary>
/// A grain's durable state in PostgreSQL. Every write checks the etag it read, so a write that lost
/// a race (another activation or silo wrote in between) fails with
/// <see cref="InconsistentStateException"/> instead of silently overwriting.
/// </summary>
public interface IPersistentState<T>
{
    T State { get; set; }

    /// <summary>The version last read or written; null when no record exists.</summary>
    long? Etag { get; }

    bool RecordExists { get; }

    Task ReadAsync(CancellationToken cancellationToken);

    Task WriteAsync(CancellationToken cancellationToken);

    /// <summary>Deletes the record; <see cref="State"/> becomes a new T.</summary>
    Task ClearAsync(CancellationToken cancellationToken);
}

/// <summary>A state write lost a race: the stored etag is not the one this activation read.</summary>
public sealed class InconsistentStateException : Exception
{
    public InconsistentStateException(string grain, string name, long? expected, string whatHappened)
        : base($"State '{name}' of grain {grain} was changed elsewhere ({whatHappened}; this activation expected etag {expected?.ToString() ?? "none"}). Re-read it before writing.")
    {
    }

    /// <summary>As rebuilt on the calling silo.</summary>
    internal InconsistentStateException(string message)
        : base(message)
    {
    }
}
