using System.Net;
using Microsoft.AspNetCore.Http;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;

namespace Wrenn.Silo.Metrics;

/// <summary>
/// <c>GET /metrics</c> is for admin keys (<c>Authorization: Bearer</c>): it shows the whole host. A
/// scrape refreshes the host's gauges before the exporter writes the series.
/// </summary>
public sealed class MetricsAccess(RequestDelegate next, IWrennBackend backend, HostGauges gauges)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var key = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
        var caller = string.IsNullOrEmpty(key) ? null : await backend.AuthenticateAsync(key, context.RequestAborted);
        if (caller is not { Role: Role.Admin })
        {
            context.Response.StatusCode = (int)(caller is null ? HttpStatusCode.Unauthorized : HttpStatusCode.Forbidden);
            if (caller is null)
                context.Response.Headers.WWWAuthenticate = "Bearer";
            await context.Response.WriteAsync(caller is null
                ? "Send an admin API key: Authorization: Bearer wrn_…\n"
                : "/metrics is for admin keys only; this key is a member's.\n");
            return;
        }
        await gauges.RefreshAsync(context.RequestAborted);
        await next(context);
    }
}
