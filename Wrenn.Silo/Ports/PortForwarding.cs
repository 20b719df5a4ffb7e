using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Wrenn.Silo.Ports;

/// <summary>
/// Port forwarding on the silo's API port (Yarp's <c>IHttpForwarder</c>, a destination per request):
/// <c>/sandboxes/{id}/ports/{port}/…</c> with a key, <c>/p/{token}/…</c> for port URLs, and
/// <c>{port}-{id}.{domain}</c> hosts when <c>Wrenn:Proxy:Domain</c> is set.
/// </summary>
public static class PortForwarding
{
    /// <summary>The forwarder, its clients, the token keeper and their start (after the database's).</summary>
    public static IServiceCollection AddPortForwarding(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PortForwardingOptions>().Bind(configuration.GetSection(PortForwardingOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PortForwardingOptions>, PortForwardingOptionsValidator>();
        services.AddHttpForwarder();
        services.AddSingleton<PortConnections>();
        services.AddSingleton<PortTokens>();
        services.AddSingleton<PortStore>();
        services.AddSingleton<SiloApis>();
        services.AddSingleton<PortUrls>();
        services.AddSingleton<PortForwarder>();
        services.AddHostedService<PortForwardingStartup>();
        return services;
    }

    /// <summary>
    /// The routes, and before everything else the host-named form: on a <c>{port}-{id}.{domain}</c>
    /// host every path belongs to the guest, the API's own included.
    /// </summary>
    public static WebApplication MapPortForwarding(this WebApplication app)
    {
        var forwarder = app.Services.GetRequiredService<PortForwarder>();
        if (app.Services.GetRequiredService<IOptions<PortForwardingOptions>>().Value.Domain is { } domain)
        {
            app.Use(async (context, next) =>
            {
                if (PortRequest.FromHost(context, domain) is { } request)
                    await forwarder.ForwardAsync(context, request);
                else
                    await next(context);
            });
        }
        RequestDelegate byPath = context => forwarder.ForwardAsync(context,
            PortRequest.FromPath(context, (string)context.GetRouteValue("sandboxId")!, (string)context.GetRouteValue("port")!));
        RequestDelegate byToken = context => forwarder.ForwardAsync(context, PortRequest.FromToken(context, (string)context.GetRouteValue("token")!));
        app.Map("/sandboxes/{sandboxId}/ports/{port}", byPath);
        app.Map("/sandboxes/{sandboxId}/ports/{port}/{**rest}", byPath);
        app.Map($"/{PortRequest.TokenSegment}/{{token}}", byToken);
        app.Map($"/{PortRequest.TokenSegment}/{{token}}/{{**rest}}", byToken);
        return app;
    }
}
