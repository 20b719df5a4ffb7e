using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Wrenn.Silo.Hosting;

/// <summary>The silo's public HTTP surface: health now; GraphQL, file transfer and the console as they land.</summary>
internal static class PublicApi
{
    public static void Map(WebApplication app, WrennSiloHost host)
    {
        app.MapGet("/healthz", () => Results.Text($"ok {host.Silo.Name} incarnation {host.Silo.Incarnation}\n"));
    }
}
