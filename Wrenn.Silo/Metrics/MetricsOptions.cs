using Microsoft.Extensions.Options;

namespace Wrenn.Silo.Metrics;

/// <summary>Sandbox and host metrics (configuration <c>Wrenn:Metrics</c>).</summary>
public sealed record MetricsOptions
{
    public const string Section = "Wrenn:Metrics";

    /// <summary>
    /// Off: no background sampling (no history, no pushed host usage) and no <c>/metrics</c> endpoint.
    /// <c>Sandbox.metrics</c> and the metrics subscription still sample on demand.
    /// </summary>
    public bool Enabled { get; init; } = true;

    /// <summary>How often a running sandbox is sampled for its history (and the host for its usage).</summary>
    public TimeSpan SampleEvery { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a sandbox's samples are kept (in its grain's memory).</summary>
    public TimeSpan HistoryKept { get; init; } = TimeSpan.FromHours(1);

    /// <summary>A sample the agent has not answered within this is skipped.</summary>
    public TimeSpan AgentTimeout { get; init; } = TimeSpan.FromSeconds(2);
}

public sealed class MetricsOptionsValidator : IValidateOptions<MetricsOptions>
{
    public ValidateOptionsResult Validate(string? name, MetricsOptions options)
    {
        var errors = new List<string>();
        if (options.SampleEvery < TimeSpan.FromSeconds(1) || options.SampleEvery > TimeSpan.FromMinutes(10))
            errors.Add($"{MetricsOptions.Section}:SampleEvery must be between 1 second and 10 minutes (got {options.SampleEvery}).");
        if (options.HistoryKept < options.SampleEvery || options.HistoryKept > TimeSpan.FromDays(1))
            errors.Add($"{MetricsOptions.Section}:HistoryKept must be at least SampleEvery and at most 1 day (got {options.HistoryKept}).");
        if (options.AgentTimeout < TimeSpan.FromMilliseconds(100) || options.AgentTimeout > TimeSpan.FromMinutes(1))
            errors.Add($"{MetricsOptions.Section}:AgentTimeout must be between 100 ms and 1 minute (got {options.AgentTimeout}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
