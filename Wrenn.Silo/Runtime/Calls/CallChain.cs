using System.Collections.Immutable;

namespace Wrenn.Silo.Runtime.Calls;

/// <summary>
/// The grains a call passed through, carried with it (also across silos) so that a call back into a
/// grain that is waiting on the chain fails at once as a cycle instead of waiting for a timeout.
/// </summary>
internal static class CallChain
{
    private static readonly AsyncLocal<ImmutableArray<string>> Chain = new();

    public static ImmutableArray<string> Current
    {
        get => Chain.Value.IsDefault ? [] : Chain.Value;
        set => Chain.Value = value;
    }
}
