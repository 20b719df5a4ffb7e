using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using System.Diagnostics.Metrics;

namespace Wrenn.Silo.Metrics;

/// <summary>
/// Metrics in the silo: the instruments and samplers every silo has (<see cref="AddWrennMetricsCore"/>,
/// also in Orleans' test hosts), and the Prometheus exporter at <c>/metrics</c> (OpenTelemetry's, on
/// the API port, for admin keys).
/// </summary>
public static class MetricsComposition
{
    public const string Path = "/metrics";

    /// <summary>The meter Orleans publishes its own instruments under.</summary>
    public const string OrleansMeter = "Microsoft.Orleans";

    public static IServiceCollection AddWrennMetricsCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MetricsOptions>().Bind(configuration.GetSection(MetricsOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>();
        services.AddMetrics();
        services.AddSingleton<WrennMeters>();
        services.AddSingleton<SandboxTelemetry>();
        services.AddSingleton<HostUsageSampler>();
        services.AddSingleton<IIncomingGrainCallFilter, SandboxOperationsFilter>();
        return services;
    }

    /// <summary>The host's own sampling, as a hosted service: registered after the database and the cluster start.</summary>
    public static IServiceCollection AddWrennHostSampling(this IServiceCollection services) =>
        services.AddHostedService(sp => sp.GetRequiredService<HostUsageSampler>());

    /// <summary>The exporter (when <c>Wrenn:Metrics:Enabled</c>): Wrenn's meter and Orleans', as <c>wrenn_…</c> series.</summary>
    public static IServiceCollection AddWrennMetricsExporter(this IServiceCollection services, IConfiguration configuration)
    {
        if (!(configuration.GetSection(MetricsOptions.Section).Get<MetricsOptions>() ?? new()).Enabled)
            return services;
        services.AddSingleton<SandboxCounts>();
        services.AddSingleton<HostGauges>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(WrennMeters.Name, OrleansMeter)
            .AddPrometheusExporter(o =>
            {
                // Each scrape is fresh: the gauges were just refreshed for it.
                o.ScrapeResponseCacheDurationMilliseconds = 0;
                // Only wrenn_… series: no target_info, no otel_scope_… labels (Prometheus labels each target itself).
                o.TargetInfoEnabled = false;
                o.ScopeInfoEnabled = false;
            }));
        services.ConfigureOpenTelemetryMeterProvider((sp, metrics) =>
        {
            var ours = sp.GetRequiredService<IMeterFactory>();
            metrics.AddView(instrument => Stream(instrument, ours));
        });
        return services;
    }

    /// <summary>
    /// Orleans' instruments become <c>wrenn.orleans.…</c> (so every series is <c>wrenn_…</c>); Wrenn's
    /// meters of other containers in the same process (several silos in one test process) are dropped.
    /// </summary>
    private static MetricStreamConfiguration? Stream(Instrument instrument, IMeterFactory ours)
    {
        if (instrument.Meter.Name == OrleansMeter)
        {
            var name = instrument.Name.StartsWith("orleans-", StringComparison.Ordinal) ? instrument.Name["orleans-".Length..] : instrument.Name;
            return new MetricStreamConfiguration { Name = "wrenn.orleans." + name.Replace('-', '.') };
        }
        return instrument.Meter.Name == WrennMeters.Name && !ReferenceEquals(instrument.Meter.Scope, ours) ? MetricStreamConfiguration.Drop : null;
    }

    public static void MapWrennMetrics(this WebApplication app)
    {
        if (app.Services.GetService<HostGauges>() is null)
            return;
        // Created now, so the gauges exist before the first scrape reads the meter.
        app.UseWhen(context => context.Request.Path.Equals(Path, StringComparison.Ordinal), branch => branch.UseMiddleware<MetricsAccess>());
        app.MapPrometheusScrapingEndpoint(Path);
    }
}
