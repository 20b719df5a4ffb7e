using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Dashboard;
using Wrenn.GraphQL;
using Wrenn.Silo.Metrics;
using Wrenn.Silo.Ports;

namespace Wrenn.Silo.Hosting;

/// <summary>The silo's public HTTP surface: port forwarding into sandboxes, GraphQL (HTTP and WebSocket), file transfer, the web console, health, and for admins the Orleans dashboard and Prometheus metrics.</summary>
public static class PublicApi
{
    public const string DashboardPath = "/dashboard";

    public static void Map(WebApplication app)
    {
        var identity = app.Services.GetRequiredService<SiloIdentity>();
        // First: on a sandbox's host name every path is the guest's.
        app.MapPortForwarding();
        app.MapGet("/healthz", () => Results.Text($"ok {identity.SiloName}\n"));
        app.MapGet("/", () => Results.Redirect("/ui"));
        app.UseWhen(context => context.Request.Path.StartsWithSegments(DashboardPath), dashboard => dashboard.UseMiddleware<DashboardAccess>());
        app.MapWrennMetrics();
        app.MapWrennApi();
        app.MapOrleansDashboard(routePrefix: DashboardPath);
    }
}
