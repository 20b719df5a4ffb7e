using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Clock;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Vmm;
using Wrenn.GraphQL;
using Wrenn.GraphQL.Backend;
using Wrenn.Silo.Cluster;
using Wrenn.Silo.Data;
using Wrenn.Silo.Grains;
using Wrenn.Silo.Hosting.Startup;
using Wrenn.Silo.Metrics;
using Wrenn.Silo.Webhooks;
using Wrenn.Silo.Persistence.LocalPostgres;
using Wrenn.Silo.Plugins;
using Wrenn.Silo.Ports;
using Wrenn.Silo.Quotas;
using Wrenn.Silo.Reconciliation;
using Wrenn.Silo.Sandboxes;

namespace Wrenn.Silo.Hosting;

/// <summary>
/// The whole silo in one DI container: its database, the host plugins, the Orleans silo with the
/// sandbox, template and host grains, and the services that start and stop around it. Hosted
/// services start in the order registered here and stop in reverse:
/// database → Orleans → on-exit handling → platform (base template, first key) → warm base →
/// reconciler → host sampling → webhook sender → (the API server last, as the generic host does). So the API serves only a
/// reconciled host, and on stop sandboxes are paused or destroyed while the cluster still runs.
/// </summary>
public static class WrennComposition
{
    public static WebApplicationBuilder AddWrenn(this WebApplicationBuilder builder, WrennSiloOptions options)
    {
        var configuration = builder.Configuration;
        var services = builder.Services;

        var stored = SiloIdentity.LoadOrCreate(options.DataDir);
        var identity = stored with { SiloName = options.SiloName ?? stored.SiloName, OwnerPrefix = options.OwnerPrefix ?? stored.OwnerPrefix };
        var cluster = Validated(configuration.GetSection(WrennClusterOptions.Section).Get<WrennClusterOptions>() ?? new(), new WrennClusterOptionsValidator());
        var api = Validated(configuration.GetSection(ApiOptions.Section).Get<ApiOptions>() ?? new(), new ApiOptionsValidator());

        var plugins = new PluginHost(identity.OwnerPrefix, options.DataDir, Path.Combine("/run/wrenn", identity.OwnerPrefix), "/run/wrenn",
            Environment.GetEnvironmentVariable("WRENN_CACHE") is { Length: > 0 } cache ? cache : "/var/cache/wrenn");
        Directory.CreateDirectory(plugins.RuntimeDir);
        var database = options.ConnectionString is { } shared
            ? WrennDatabase.Shared(shared)
            : WrennDatabase.Own(new LocalPostgresOptions
            {
                Folder = Path.Combine(options.DataDir, "postgres"),
                SocketDir = Path.Combine("/run/wrenn", $"pg-{identity.OwnerPrefix}"),
            });

        services.AddSingleton(options);
        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(api));
        services.AddSingleton(identity);
        services.AddWrennClusterServices(database);
        services.AddSingleton<TemplateCatalog>();
        services.AddSingleton<Teams>();
        services.AddSingleton<TeamQuotas>();
        services.AddSingleton(sp => new HostFacts(options.DataDir, sp.GetRequiredService<IVmm>().HostOverheadMib));
        services.AddSingleton(plugins);
        services.AddSingleton<SandboxService>();
        services.AddSingleton<SandboxActivity>();
        services.AddSingleton<Reconciler>();
        services.AddSingleton<FirstStart>();
        services.AddSingleton(new ExitPolicy(options.OnExit));
        AddValidatedOptions<CapacityOptions, CapacityOptionsValidator>(services, configuration, CapacityOptions.Section);
        AddValidatedOptions<SandboxOptions, SandboxOptionsValidator>(services, configuration, SandboxOptions.Section);
        AddValidatedOptions<QuotaOptions, QuotaOptionsValidator>(services, configuration, QuotaOptions.Section);
        AddValidatedOptions<ForkOptions, ForkOptionsValidator>(services, configuration, ForkOptions.Section);
        services.AddWrennMetricsCore(configuration);
        services.AddWrennMetricsExporter(configuration);
        services.AddOptions<ReconcilerOptions>().Bind(configuration.GetSection(ReconcilerOptions.Section))
            .Validate(o => o.Every >= TimeSpan.FromSeconds(1), $"{ReconcilerOptions.Section}:Every must be at least 1 second.").ValidateOnStart();

        // The host plugins, each from its own folder, compose the VMs.
        PluginLoader.Load(services, PluginSearchPath.For(options.DataDir, configuration), configuration, plugins);
        services.AddSingleton(sp => new SandboxVms(sp.GetRequiredService<IVmm>(), sp.GetRequiredService<IStorage>(), sp.GetRequiredService<INetwork>(), plugins,
            sp.GetRequiredService<ILogger<SandboxVms>>(), sp.GetService<IGuestClock>(), sp.GetService<IMemoryBackend>()));
        services.AddSingleton<ForkFolders>();
        services.AddSingleton(sp => new WarmBase(sp.GetRequiredService<SandboxVms>(), options.DataDir, sp.GetRequiredService<ILogger<WarmBase>>()));

        services.AddHostedService<DatabaseStartup>();
        builder.UseOrleans(silo => silo.AddWrennCluster(cluster, identity.SiloName,
            cluster.SiloPort != 0 ? cluster.SiloPort : identity.SiloPort,
            cluster.GatewayPort != 0 ? cluster.GatewayPort : identity.GatewayPort));
        services.AddHostedService<OnExitService>();
        services.AddHostedService<PlatformStartup>();
        services.AddHostedService<WarmBaseStartup>();
        services.AddHostedService<ReconcilerService>();
        services.AddWrennHostSampling();
        services.AddWrennWebhooks(configuration);
        // Pausing every sandbox on exit takes longer than the default 30 s.
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(10));

        // The public API (GraphQL.NET, its options from Wrenn:GraphQL) on this silo's backend.
        services.AddSingleton<SiloApiBackend>();
        services.AddSingleton<IWrennBackend>(sp => sp.GetRequiredService<SiloApiBackend>());
        services.AddWrennApi(configuration);
        services.AddPortForwarding(configuration);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Parse(api.Listen), api.Port));

        options.Services?.Invoke(services);
        return builder;
    }

    private static void AddValidatedOptions<TOptions, TValidator>(IServiceCollection services, IConfiguration configuration, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddOptions<TOptions>().Bind(configuration.GetSection(section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
    }

    /// <summary>Options the composition itself needs (ports, addresses) are checked before anything is built.</summary>
    private static T Validated<T>(T options, IValidateOptions<T> validator) where T : class
    {
        var result = validator.Validate(null, options);
        return result.Failed ? throw new OptionsValidationException(typeof(T).Name, typeof(T), result.Failures) : options;
    }
}
