using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Wrenn.GraphQL.RateLimiting;
using Wrenn.GraphQL.Schema;

namespace Wrenn.GraphQL.Transport;

/// <summary>What a client gets past a rate limit: HTTP 429 with Retry-After and a GraphQL error RATE_LIMITED; over WebSocket the error alone.</summary>
internal static class RateLimitResponses
{
    public static JsonObject Error(RateLimited limited) => new()
    {
        ["message"] = limited.Message,
        ["extensions"] = new JsonObject { ["code"] = ApiErrors.RateLimited, ["retryAfterSeconds"] = limited.RetryAfterSeconds },
    };

    public static async Task WriteAsync(HttpContext context, RateLimited limited)
    {
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = limited.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(new JsonObject { ["errors"] = new JsonArray(Error(limited)) }.ToJsonString(), context.RequestAborted);
    }

    /// <summary>The rate limiter middleware's rejection: a request past <see cref="RateLimitOptions.RequestsPerSecond"/>.</summary>
    public static async ValueTask OnRejectedAsync(OnRejectedContext rejected, RateLimitOptions options)
    {
        var after = rejected.Lease.TryGetMetadata(System.Threading.RateLimiting.MetadataName.RetryAfter, out var retryAfter) && retryAfter > TimeSpan.Zero
            ? retryAfter
            : TimeSpan.FromSeconds(1);
        await WriteAsync(rejected.HttpContext, new RateLimited(
            $"Rate limited: this API key may make {options.RequestsPerSecond} requests per second; retry after {after.TotalSeconds:0.#} s.", after));
    }
}
