using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Wrenn.GraphQL;
using Wrenn.GraphQL.Backend;

namespace Wrenn.Silo.Hosting;

/// <summary>The silo's public HTTP surface: GraphQL (HTTP and WebSocket), file transfer, the web console, health.</summary>
public static class PublicApi
{
    /// <summary>
    /// The API's services in the web app's container, on this silo's backend (<paramref name="decorate"/>
    /// wraps it, e.g. to count calls in a test); options from <c>Wrenn:GraphQL</c> of the app's configuration.
    /// </summary>
    public static void AddServices(WebApplicationBuilder builder, WrennSiloHost host, Action<WrennApiOptions>? configure = null,
        Func<IWrennBackend, IWrennBackend>? decorate = null)
    {
        IWrennBackend backend = new SiloApiBackend(host);
        builder.Services.AddSingleton(decorate is null ? backend : decorate(backend));
        builder.Services.AddWrennApi(builder.Configuration, configure);
    }

    public static void Map(WebApplication app, WrennSiloHost host)
    {
        app.MapGet("/healthz", () => Results.Text($"ok {host.Silo.Name} incarnation {host.Silo.Incarnation}\n"));
        app.MapGet("/", () => Results.Redirect("/ui"));
        app.MapWrennApi();
    }
}
