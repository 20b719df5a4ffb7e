using Microsoft.Extensions.Options;

namespace Wrenn.Silo.Webhooks;

/// <summary>Webhook deliveries (configuration <c>Wrenn:Webhooks</c>).</summary>
public sealed record WebhookOptions
{
    public const string Section = "Wrenn:Webhooks";

    /// <summary>Off: sandbox changes write no deliveries and no sender runs (webhooks can still be listed and managed).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>A delivery is retried for this long after its event, then marked failed.</summary>
    public TimeSpan RetryFor { get; init; } = TimeSpan.FromHours(24);

    /// <summary>The wait after the first failed attempt; each further failure doubles it, up to <see cref="LongestRetryAfter"/>.</summary>
    public TimeSpan FirstRetryAfter { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan LongestRetryAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>A receiver that has not answered within this has failed the attempt.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The sender looks at the table at least this often (it is woken at once by new deliveries of its own host).</summary>
    public TimeSpan PollEvery { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Attempts in flight at once, over all receivers.</summary>
    public int MaxConcurrent { get; init; } = 16;

    /// <summary>Delivered and failed deliveries are deleted after this long.</summary>
    public TimeSpan DeliveriesKept { get; init; } = TimeSpan.FromDays(7);
}

public sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions o)
    {
        var errors = new List<string>();
        void Check(bool ok, string message)
        {
            if (!ok)
                errors.Add($"{WebhookOptions.Section}:{message}");
        }
        Check(o.RetryFor >= TimeSpan.Zero && o.RetryFor <= TimeSpan.FromDays(30), $"RetryFor must be between 0 and 30 days (got {o.RetryFor}).");
        Check(o.FirstRetryAfter >= TimeSpan.FromMilliseconds(10), $"FirstRetryAfter must be at least 10 ms (got {o.FirstRetryAfter}).");
        Check(o.LongestRetryAfter >= o.FirstRetryAfter, $"LongestRetryAfter must be at least FirstRetryAfter (got {o.LongestRetryAfter}).");
        Check(o.RequestTimeout >= TimeSpan.FromMilliseconds(100) && o.RequestTimeout <= TimeSpan.FromMinutes(5), $"RequestTimeout must be between 100 ms and 5 minutes (got {o.RequestTimeout}).");
        Check(o.PollEvery >= TimeSpan.FromMilliseconds(100) && o.PollEvery <= TimeSpan.FromMinutes(10), $"PollEvery must be between 100 ms and 10 minutes (got {o.PollEvery}).");
        Check(o.MaxConcurrent is >= 1 and <= 1000, $"MaxConcurrent must be between 1 and 1000 (got {o.MaxConcurrent}).");
        Check(o.DeliveriesKept >= TimeSpan.FromMinutes(1), $"DeliveriesKept must be at least 1 minute (got {o.DeliveriesKept}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
