using Microsoft.Extensions.Options;

namespace Wrenn.Silo.Quotas;

/// <summary>How quota holds are settled against the sandbox records (configuration <c>Wrenn:Quotas</c>).</summary>
public sealed class QuotaOptions
{
    public const string Section = "Wrenn:Quotas";

    /// <summary>
    /// A hold that disagrees with its sandbox's record for longer than this (no record: the create
    /// never got that far; a paused record under a running hold: a resume that died) is settled to
    /// what the record says. Longer than any create or resume takes (their calls give up after 10 minutes).
    /// </summary>
    public TimeSpan SettleAfter { get; set; } = TimeSpan.FromMinutes(15);
}

public sealed class QuotaOptionsValidator : IValidateOptions<QuotaOptions>
{
    public ValidateOptionsResult Validate(string? name, QuotaOptions options) =>
        options.SettleAfter < TimeSpan.FromSeconds(1)
            ? ValidateOptionsResult.Fail($"{QuotaOptions.Section}:SettleAfter must be at least 1 second (got {options.SettleAfter}).")
            : ValidateOptionsResult.Success;
}
