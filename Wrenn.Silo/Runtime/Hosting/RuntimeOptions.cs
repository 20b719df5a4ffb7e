using System.Text.Json;

namespace Wrenn.Silo.Runtime;

/// <summary>Calls, activations and reminders.</summary>
public sealed record RuntimeOptions
{
    /// <summary>Unary calls fail with a TimeoutException after this (a method may set its own with [CallTimeout]); streams have no total timeout.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>An activation with no calls for this long is deactivated.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>The time OnDeactivateAsync gets before the activation goes anyway.</summary>
    public TimeSpan DeactivationTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often each silo looks for due reminders.</summary>
    public TimeSpan ReminderPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How arguments, results and state are serialized. Add source-generated contexts to its
    /// TypeInfoResolverChain for speed; the default resolves any type by reflection.
    /// </summary>
    public JsonSerializerOptions Json { get; init; } = new(JsonSerializerDefaults.Web);
}
