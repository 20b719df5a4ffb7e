using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.RateLimiting;

/// <summary>Why a request was refused, and when the key may try again.</summary>
public sealed record RateLimited(string Message, TimeSpan RetryAfter)
{
    /// <summary>Whole seconds, at least one (the Retry-After header's unit).</summary>
    public int RetryAfterSeconds => Math.Max(1, (int)Math.Ceiling(RetryAfter.TotalSeconds));
}

/// <summary>
/// The API's two limits per API key, as token buckets of System.Threading.RateLimiting (what ASP.NET
/// Core's rate limiter is built on): requests, which the HTTP pipeline's rate limiter middleware
/// applies (<see cref="Requests"/> is its global limiter) and the WebSocket session applies per
/// operation, sharing one bucket per key; and creates, counted per creating field before a request runs.
/// Admin keys, and calls without a key, are not limited (unless <see cref="RateLimitOptions.LimitAdminKeys"/>).
/// </summary>
public sealed class ApiRateLimits : IDisposable
{
    private readonly RateLimitOptions _options;
    private readonly PartitionedRateLimiter<Caller> _creates;

    public ApiRateLimits(IOptions<RateLimitOptions> options)
    {
        _options = options.Value;
        Requests = PartitionedRateLimiter.Create<Caller, string>(caller => Partition(caller, "requests", _options.RequestsPerSecond));
        _creates = PartitionedRateLimiter.Create<Caller, string>(caller => Partition(caller, "creates", _options.CreatesPerSecond));
    }

    /// <summary>One request permit per call, per key.</summary>
    public PartitionedRateLimiter<Caller> Requests { get; }

    /// <summary>A request (one WebSocket operation) of <paramref name="caller"/>, or why not.</summary>
    public RateLimited? AdmitRequest(Caller caller)
    {
        using var lease = Requests.AttemptAcquire(caller);
        return lease.IsAcquired ? null : new RateLimited(
            $"Rate limited: this API key may make {_options.RequestsPerSecond} requests per second; retry after {RetryAfter(lease).TotalSeconds:0.#} s.", RetryAfter(lease));
    }

    /// <summary>Asks for <paramref name="count"/> creates at once (nothing for zero), or says why not.</summary>
    public RateLimited? AdmitCreates(Caller caller, int count)
    {
        if (count == 0 || IsUnlimited(caller))
            return null;
        if (count > _options.CreatesPerSecond)
            return new RateLimited($"Rate limited: this request asks to create {Sandboxes(count)}, more than this API key may create per second ({_options.CreatesPerSecond}); send fewer per request.",
                TimeSpan.FromSeconds(1));
        using var lease = _creates.AttemptAcquire(caller, count);
        return lease.IsAcquired ? null : new RateLimited(
            $"Rate limited: this API key may create {Sandboxes(_options.CreatesPerSecond)} per second; retry after {RetryAfter(lease).TotalSeconds:0.#} s.", RetryAfter(lease));
    }

    private static string Sandboxes(int count) => count == 1 ? "1 sandbox" : $"{count} sandboxes";

    private bool IsUnlimited(Caller caller) => caller.KeyId is null || (caller.Role == Role.Admin && !_options.LimitAdminKeys);

    private RateLimitPartition<string> Partition(Caller caller, string what, int perSecond) => IsUnlimited(caller)
        ? RateLimitPartition.GetNoLimiter($"{what}:unlimited")
        : RateLimitPartition.GetTokenBucketLimiter($"{what}:{caller.KeyId}", _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = perSecond,
            TokensPerPeriod = perSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
        });

    private static TimeSpan RetryAfter(RateLimitLease lease) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero ? after : TimeSpan.FromSeconds(1);

    public void Dispose()
    {
        Requests.Dispose();
        _creates.Dispose();
    }
}
