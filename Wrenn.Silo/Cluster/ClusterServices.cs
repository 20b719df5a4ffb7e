using Microsoft.Extensions.DependencyInjection;
using Wrenn.Silo.Data;

namespace Wrenn.Silo.Cluster;

/// <summary>What Wrenn's Orleans providers and filters need beside Orleans itself (<see cref="SiloBuilderExtensions.AddWrennProviders"/>).</summary>
public static class ClusterServices
{
    /// <summary>The database, the sandbox records (placement reads hosts there), the audit log (a call filter writes it) and the cluster's hosts.</summary>
    public static IServiceCollection AddWrennClusterServices(this IServiceCollection services, WrennDatabase database)
    {
        services.AddSingleton(database);
        services.AddSingleton(database.Main);
        services.AddSingleton<SandboxStore>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<ClusterHosts>();
        return services;
    }
}
