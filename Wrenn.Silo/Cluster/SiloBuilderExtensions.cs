using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Dashboard;
using Wrenn.Silo.Cluster.Events;
using Wrenn.Silo.Cluster.Filters;
using Wrenn.Silo.Cluster.Placement;
using Wrenn.Silo.Data;

namespace Wrenn.Silo.Cluster;

/// <summary>Wrenn's Orleans silo: clustering, grain storage and reminders on its PostgreSQL, host-affine placement, call filters, the dashboard.</summary>
public static class SiloBuilderExtensions
{
    /// <summary>The ADO.NET invariant of Npgsql, the provider every Orleans ADO.NET component uses here.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>A silo of Wrenn's cluster named after its host, on its endpoints.</summary>
    public static ISiloBuilder AddWrennCluster(this ISiloBuilder silo, WrennClusterOptions cluster, string siloName, int siloPort, int gatewayPort)
    {
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = cluster.ClusterId;
            o.ServiceId = cluster.ServiceId;
        });
        silo.Configure<SiloOptions>(o => o.SiloName = siloName);
        silo.ConfigureEndpoints(cluster.Advertised, siloPort, gatewayPort, listenOnAnyHostAddress: false);
        return silo.AddWrennProviders(cluster);
    }

    /// <summary>
    /// What every Wrenn silo runs whatever its name and endpoints (Orleans' TestingHost gives those
    /// in tests): the providers on PostgreSQL, the directory, membership tuning, placement, filters.
    /// Needs <see cref="WrennDatabase"/>, <see cref="SandboxStore"/>, <see cref="AuditLog"/> and
    /// <see cref="ClusterHosts"/> in the container.
    /// </summary>
    public static ISiloBuilder AddWrennProviders(this ISiloBuilder silo, WrennClusterOptions cluster)
    {

        // State on the silo's PostgreSQL, through the tables and queries of Cluster/Migrations.
        silo.UseAdoNetClustering(o => o.Invariant = Invariant);
        silo.Services.AddOptions<AdoNetClusteringSiloOptions>().Configure<WrennDatabase>((o, db) => o.DataSource = db.Membership);
        silo.AddAdoNetGrainStorage(StorageNames.Wrenn, o => o.Invariant = Invariant);
        silo.Services.AddOptions<AdoNetGrainStorageOptions>(StorageNames.Wrenn).Configure<WrennDatabase>((o, db) => o.DataSource = db.Main);
        silo.UseAdoNetReminderService(o => o.Invariant = Invariant);
        silo.Services.AddOptions<AdoNetReminderTableOptions>().Configure<WrennDatabase>((o, db) => o.DataSource = db.Main);

        // One activation per grain even while membership changes (see docs/ARCHITECTURE.md, "Directory").
#pragma warning disable ORLEANSEXP003
        silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003

        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = cluster.ProbeTimeout;
            o.NumMissedProbesLimit = cluster.MissedProbesLimit;
            o.TableRefreshTimeout = cluster.TableRefreshTimeout;
            o.DefunctSiloExpiration = cluster.DefunctSiloExpiration;
            o.DefunctSiloCleanupPeriod = TimeSpan.FromHours(1);
        });
        silo.Configure<SiloMessagingOptions>(o =>
        {
            // A command may run for hours inside one call (its own timeout bounds it); only a call
            // running longer than a day is taken for a stuck grain.
            o.MaxRequestProcessingTime = TimeSpan.FromDays(1) + TimeSpan.FromHours(1);
        });

        silo.Services.AddSingleton<GrainHosts>();
        // Sandbox changes reach listeners on every silo (the API's pushed sandboxEvents).
        silo.Services.AddSingleton<SandboxChangeFeed>();
        silo.Services.AddSingleton<ISandboxChangeFeed>(sp => sp.GetRequiredService<SandboxChangeFeed>());
        silo.Services.AddPlacementDirector<HostAffinePlacement, HostAffinePlacementDirector>();
        silo.AddIncomingGrainCallFilter<UnexpectedErrorFilter>();
        silo.AddIncomingGrainCallFilter<AuditFilter>();
        silo.AddOutgoingGrainCallFilter<HostAffineCallFilter>();

        silo.AddDashboard();
        return silo;
    }
}
