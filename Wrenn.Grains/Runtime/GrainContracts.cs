namespace Wrenn.Grains.Runtime;

/// <summary>
/// Marker for a grain interface keyed by a string. Methods return Task, ValueTask, Task&lt;T&gt;,
/// ValueTask&lt;T&gt; or IAsyncEnumerable&lt;T&gt;; a CancellationToken parameter receives the
/// call's cancellation. Arguments and results cross silos as JSON, so treat them as values
/// (records) and never mutate what you passed. Overloads are not allowed (calls name methods).
/// </summary>
public interface IGrainWithStringKey;

/// <summary>Gets references to grains; a reference is callable from any silo of the cluster.</summary>
public interface IGrainFactory
{
    TGrain Get<TGrain>(string key) where TGrain : IGrainWithStringKey;

    /// <summary>
    /// A reference to a <see cref="PlacementKind.Pinned"/> grain that, if it has never been pinned,
    /// is pinned to the silo named <paramref name="siloName"/> on its first call.
    /// </summary>
    TGrain Get<TGrain>(string key, string siloName) where TGrain : IGrainWithStringKey;
}

/// <summary>A shared (reader) turn: runs alongside other shared calls, never alongside an exclusive one.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SharedAttribute : Attribute;

/// <summary>
/// An exclusive call that cancels the shared calls running or queued before it, then waits for
/// them to end (e.g. destroy cancels running commands).
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class CancelsSharedAttribute : Attribute;

/// <summary>A unary call's time limit when the default (runtime configuration) does not fit.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class CallTimeoutAttribute(double seconds) : Attribute
{
    public TimeSpan Timeout { get; } = TimeSpan.FromSeconds(seconds);
}

/// <summary>
/// The stable name of a grain kind, used in grain ids and stored in the database (the
/// interface's full name otherwise, which changes when code is renamed).
/// </summary>
[AttributeUsage(AttributeTargets.Interface)]
public sealed class GrainKindAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>Where a grain kind activates.</summary>
public enum PlacementKind
{
    /// <summary>On the silo that makes the first call.</summary>
    PreferLocal,

    /// <summary>On a random active silo.</summary>
    Spread,

    /// <summary>
    /// On one silo, by name, forever: it never activates elsewhere (host-affine grains). Such a grain
    /// exists once a call through <see cref="IGrainFactory.Get{TGrain}(string, string)"/> pinned it;
    /// calling one that was never pinned fails with NOT_FOUND and creates nothing.
    /// </summary>
    Pinned,
}

[AttributeUsage(AttributeTargets.Interface)]
public sealed class PlacementAttribute(PlacementKind kind) : Attribute
{
    public PlacementKind Kind { get; } = kind;
}

/// <summary>Grains with durable reminders implement this; the runtime calls it when one is due.</summary>
public interface IRemindable : IGrainWithStringKey
{
    Task ReceiveReminderAsync(string name, CancellationToken cancellationToken);
}

/// <summary>
/// An error a grain reports on purpose, with a code callers can act on (e.g. FAILED_PRECONDITION,
/// NOT_FOUND, RESOURCE_EXHAUSTED); it keeps its code and message across silos.
/// </summary>
public class GrainException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}

/// <summary>The grain cannot be reached now (its silo is suspected or unreachable): retry later.</summary>
public sealed class GrainUnavailableException(string grain, string reason)
    : GrainException("UNAVAILABLE", $"Grain {grain} is unavailable: {reason}. Retry later.");

/// <summary>The pinned grain's silo was declared dead: its activation is gone until that silo rejoins.</summary>
public sealed class GrainLostException(string grain, string silo)
    : GrainException("LOST", $"Grain {grain} is pinned to silo {silo}, which was declared dead; it comes back only when that silo rejoins.");

/// <summary>A call would re-enter a grain already in the call chain.</summary>
public sealed class GrainCallCycleException(IReadOnlyList<string> chain)
    : GrainException("CALL_CYCLE", $"Call cycle: {string.Join(" -> ", chain)}; restructure the calls so that no grain calls back into one that is waiting on it.")
{
    public IReadOnlyList<string> Chain { get; } = chain;
}
