namespace Wrenn.Silo.Runtime.Calls;

/// <summary>Counters of one silo, for tests, benchmarks and operators.</summary>
public sealed class RuntimeStats
{
    private long _forwarded;
    private long _activated;

    /// <summary>Calls this silo sent to another silo because the grain lives there.</summary>
    public long ForwardedCalls => Interlocked.Read(ref _forwarded);

    /// <summary>Activations this silo has created.</summary>
    public long Activations => Interlocked.Read(ref _activated);

    internal void Forwarded() => Interlocked.Increment(ref _forwarded);

    internal void Activated() => Interlocked.Increment(ref _activated);
}
