using Microsoft.Extensions.Options;

namespace Wrenn.GraphQL.RateLimiting;

/// <summary>
/// How fast one API key may call the API (configuration <c>Wrenn:RateLimits</c>, e.g.
/// <c>WRENN__RATELIMITS__REQUESTSPERSECOND</c>). Past a limit, HTTP answers 429 with Retry-After and
/// WebSocket operations end with the error code RATE_LIMITED.
/// </summary>
public sealed class RateLimitOptions
{
    public const string Section = "Wrenn:RateLimits";

    /// <summary>GraphQL requests over HTTP, operations over WebSocket and /files calls, per key and second (a burst of this many is allowed).</summary>
    public int RequestsPerSecond { get; set; } = 50;

    /// <summary>Sandboxes a key may ask to create per second (each creating field of a request counts).</summary>
    public int CreatesPerSecond { get; set; } = 5;

    /// <summary>Admin keys are unlimited unless this is set.</summary>
    public bool LimitAdminKeys { get; set; }
}

public sealed class RateLimitOptionsValidator : IValidateOptions<RateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, RateLimitOptions options)
    {
        var failures = new List<string>();
        if (options.RequestsPerSecond < 1)
            failures.Add($"{RateLimitOptions.Section}:{nameof(options.RequestsPerSecond)} must be at least 1 (got {options.RequestsPerSecond}).");
        if (options.CreatesPerSecond < 1)
            failures.Add($"{RateLimitOptions.Section}:{nameof(options.CreatesPerSecond)} must be at least 1 (got {options.CreatesPerSecond}).");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
