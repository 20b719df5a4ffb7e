using Wrenn.Grains.Runtime;
using Wrenn.Silo.Runtime.Activations;
using Wrenn.Silo.Runtime.State;

namespace Wrenn.Silo.Runtime.Transport;

/// <summary>An exception as it crosses silos: the kinds a caller acts on keep their type.</summary>
internal sealed record WireError(string Kind, string Message, string? Code = null, IReadOnlyList<string>? Chain = null, long? Owner = null)
{
    public static WireError From(Exception exception) => exception switch
    {
        NotHereException e => new("not-here", e.Message, Owner: e.Owner),
        ActivationGoneException e => new("gone", e.Message),
        GrainCallCycleException e => new("cycle", e.Message, e.Code, e.Chain),
        GrainException e => new("grain", e.Message, e.Code),
        InconsistentStateException e => new("state", e.Message),
        TimeoutException e => new("timeout", e.Message),
        OperationCanceledException e => new("cancelled", e.Message),
        ArgumentException e => new("argument", e.Message),
        _ => new("error", $"{exception.GetType().Name}: {exception.Message}", "INTERNAL"),
    };

    public Exception ToException(string grain) => Kind switch
    {
        "not-here" => new NotHereException(Owner),
        "gone" => new ActivationGoneException(Silo.Runtime.Grains.GrainId.Parse(grain)),
        "cycle" => new GrainCallCycleException(Chain ?? []),
        "grain" when Code == "UNAVAILABLE" => new GrainUnavailableException(grain, Message),
        "grain" => new GrainException(Code ?? "UNKNOWN", Message),
        "state" => new InconsistentStateException(Message),
        "timeout" => new TimeoutException(Message),
        "cancelled" => new OperationCanceledException(Message),
        "argument" => new ArgumentException(Message),
        _ => new GrainException(Code ?? "INTERNAL", Message),
    };
}

/// <summary>The silo a call reached does not host the grain; <see cref="Owner"/> is the incarnation that does, if known.</summary>
internal sealed class NotHereException(long? owner) : Exception(owner is null ? "The grain is not hosted here." : $"The grain is hosted by incarnation {owner}.")
{
    public long? Owner { get; } = owner;
}
