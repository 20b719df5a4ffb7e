using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Wrenn.Silo.Persistence.Migrations;

namespace Wrenn.Silo.Webhooks;

public static class WebhookComposition
{
    /// <summary>The webhooks module's tables (applied with the platform's).</summary>
    public static IReadOnlyList<Migration> Migrations { get; } = Migration.FromEmbeddedResources(typeof(WebhookComposition).Assembly, "webhooks");

    /// <summary>
    /// The store (always: webhooks can be managed), and with <c>Wrenn:Webhooks:Enabled</c> the outbox
    /// writes and this silo's sender (a hosted service: call this after the database and cluster start).
    /// </summary>
    public static IServiceCollection AddWrennWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WebhookOptions>().Bind(configuration.GetSection(WebhookOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>();
        services.AddSingleton<WebhookStore>();
        if (!(configuration.GetSection(WebhookOptions.Section).Get<WebhookOptions>() ?? new()).Enabled)
            return services;
        services.AddSingleton<WebhookSignal>();
        services.AddSingleton<SandboxEventOutbox>();
        services.AddHostedService<WebhookSender>();
        return services;
    }
}
