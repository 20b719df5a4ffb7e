using Microsoft.AspNetCore.Http;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Transport;

/// <summary>API keys as <c>Bearer</c> credentials: in the Authorization header, or in connection_init's payload on WebSocket.</summary>
internal static class ApiAuthentication
{
    public static async Task<Caller?> AuthenticateAsync(IWrennBackend backend, string? authorization, CancellationToken cancellationToken)
    {
        if (authorization is null)
            return null;
        const string scheme = "Bearer ";
        var key = authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? authorization[scheme.Length..].Trim() : authorization.Trim();
        return key.Length == 0 ? null : await backend.AuthenticateAsync(key, cancellationToken);
    }

    /// <summary>The address a request came to: its scheme, host and path base.</summary>
    public static Uri OriginOf(HttpRequest request) => new($"{request.Scheme}://{request.Host}{request.PathBase}/");
}
