using Microsoft.Extensions.Options;

namespace Wrenn.Silo.Grains;

/// <summary>Sandbox policies (configuration <c>Wrenn:Sandboxes</c>).</summary>
public sealed record SandboxOptions
{
    public const string Section = "Wrenn:Sandboxes";

    /// <summary>A paused sandbox is deleted (its disk and snapshot files) after this long paused.</summary>
    public TimeSpan PausedRetention { get; init; } = TimeSpan.FromDays(7);
}

public sealed class SandboxOptionsValidator : IValidateOptions<SandboxOptions>
{
    public ValidateOptionsResult Validate(string? name, SandboxOptions options) =>
        options.PausedRetention < TimeSpan.FromSeconds(1)
            ? ValidateOptionsResult.Fail($"{SandboxOptions.Section}:PausedRetention must be at least 1 second (got {options.PausedRetention}).")
            : ValidateOptionsResult.Success;
}
