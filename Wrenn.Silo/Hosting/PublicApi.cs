using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Wrenn.GraphQL;

namespace Wrenn.Silo.Hosting;

/// <summary>The silo's public HTTP surface: GraphQL (HTTP and WebSocket), file transfer, the web console, health.</summary>
public static class PublicApi
{
    public static void Map(WebApplication app, WrennSiloHost host, TimeSpan? webSocketInitTimeout = null)
    {
        app.MapGet("/healthz", () => Results.Text($"ok {host.Silo.Name} incarnation {host.Silo.Incarnation}\n"));
        app.MapGet("/", () => Results.Redirect("/ui"));
        app.MapWrennApi(new SiloApiBackend(host), webSocketInitTimeout);
    }
}
