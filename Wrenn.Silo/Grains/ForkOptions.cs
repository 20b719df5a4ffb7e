using Microsoft.Extensions.Options;

namespace Wrenn.Silo.Grains;

/// <summary>Forks of running sandboxes (configuration <c>Wrenn:Forks</c>).</summary>
public sealed record ForkOptions
{
    public const string Section = "Wrenn:Forks";

    /// <summary>The most children one forkSandbox may ask for.</summary>
    public int MaxCount { get; init; } = 16;
}

public sealed class ForkOptionsValidator : IValidateOptions<ForkOptions>
{
    public ValidateOptionsResult Validate(string? name, ForkOptions options) =>
        options.MaxCount is < 1 or > 256
            ? ValidateOptionsResult.Fail($"{ForkOptions.Section}:MaxCount must be between 1 and 256 (got {options.MaxCount}).")
            : ValidateOptionsResult.Success;
}
