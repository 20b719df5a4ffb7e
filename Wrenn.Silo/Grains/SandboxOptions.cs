using Microsoft.Extensions.Options;

namespace Wrenn.Silo.Grains;

/// <summary>Sandbox policies (configuration <c>Wrenn:Sandboxes</c>).</summary>
public sealed record SandboxOptions
{
    public const string Section = "Wrenn:Sandboxes";

    /// <summary>A paused sandbox is deleted (its disk and snapshot files) after this long paused.</summary>
    public TimeSpan PausedRetention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>How often a sandbox with autoPause is looked at (its open calls and its guest's CPU); at most 2 s.</summary>
    public TimeSpan IdleCheckEvery { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A guest busier than this share of one vCPU (its own CPU time, as its kernel counts it) is not
    /// idle, whoever is attached: 0.10 is 10 % of one vCPU.
    /// </summary>
    public double IdleCpuShare { get; init; } = 0.10;
}

public sealed class SandboxOptionsValidator : IValidateOptions<SandboxOptions>
{
    public ValidateOptionsResult Validate(string? name, SandboxOptions options)
    {
        var failures = new List<string>();
        if (options.PausedRetention < TimeSpan.FromSeconds(1))
            failures.Add($"{SandboxOptions.Section}:PausedRetention must be at least 1 second (got {options.PausedRetention}).");
        if (options.IdleCheckEvery < TimeSpan.FromMilliseconds(100) || options.IdleCheckEvery > TimeSpan.FromSeconds(2))
            failures.Add($"{SandboxOptions.Section}:IdleCheckEvery must be between 100 ms and 2 s (got {options.IdleCheckEvery}).");
        if (!(options.IdleCpuShare is > 0 and <= 64))
            failures.Add($"{SandboxOptions.Section}:IdleCpuShare must be above 0 and at most 64 vCPUs (got {options.IdleCpuShare}).");
        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}
