using Microsoft.AspNetCore.Http;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Transport;

/// <summary>
/// The API key of an HTTP request to /graphql or /files, authenticated once, before the rate
/// limiter (which counts per key) and the endpoint (which acts for the key's team) read it.
/// WebSocket sessions authenticate in connection_init instead (their upgrade request carries no key).
/// </summary>
internal static class ApiCallers
{
    private sealed record Authenticated(Caller? Caller);

    /// <summary>Stands for a request without a valid key: the rate limiter leaves it alone, the endpoint refuses it.</summary>
    public static Caller Anonymous { get; } = new("", null, Role.Member);

    /// <summary>The request's caller, or null without a valid key.</summary>
    public static Caller? Of(HttpContext context) => context.Features.Get<Authenticated>()?.Caller;

    public static async Task AuthenticateAsync(HttpContext context, IWrennBackend backend, Func<Task> next)
    {
        if (context.Request.Path.StartsWithSegments("/graphql") || context.Request.Path.StartsWithSegments("/files"))
        {
            var header = context.Request.Headers.Authorization.ToString();
            var caller = await ApiAuthentication.AuthenticateAsync(backend, header.Length > 0 ? header : null, context.RequestAborted);
            context.Features.Set(new Authenticated(caller));
        }
        await next();
    }
}
