namespace Wrenn.Grains.Runtime;

/// <summary>Marker for a grain interface keyed by a string. Methods return Task, ValueTask, Task&lt;T&gt;,
/// ValueTask&lt;T&gt; or IAsyncEnumerable&lt;T&gt;.</summary>
public interface IGrainWithStringKey;

/// <summary>Gets references to grains; a reference is callable from any silo of the cluster.</summary>
public interface IGrainFactory
{
    TGrain Get<TGrain>(string key) where TGrain : IGrainWithStringKey;
}

/// <summary>A shared (reader) turn: runs alongside other shared calls, never alongside an exclusive one.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SharedAttribute : Attribute;

/// <summary>An exclusive call that cancels the running shared calls before it starts (e.g. destroy).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class CancelsSharedAttribute : Attribute;

/// <summary>Where a grain kind activates.</summary>
public enum PlacementKind { PreferLocal, Spread, Pinned }

[AttributeUsage(AttributeTargets.Interface)]
public sealed class PlacementAttribute(PlacementKind kind) : Attribute
{
    public PlacementKind Kind { get; } = kind;
}

/// <summary>The pinned grain's silo is suspected: retry later.</summary>
public sealed class GrainUnavailableException(string grain, string silo)
    : Exception($"Grain {grain} is pinned to silo {silo}, which is suspected; retry once the silo answers or is declared dead.");

/// <summary>The pinned grain's silo was declared dead: its activation is gone and will not come back.</summary>
public sealed class GrainLostException(string grain, string silo)
    : Exception($"Grain {grain} was pinned to silo {silo}, which was declared dead; recreate what the grain held.");

/// <summary>A call would re-enter a grain already in the call chain.</summary>
public sealed class GrainCallCycleException(IReadOnlyList<string> chain)
    : Exception($"Call cycle: {string.Join(" -> ", chain)}; restructure the calls so no grain calls back into one that is waiting on it.")
{
    public IReadOnlyList<string> Chain { get; } = chain;
}
