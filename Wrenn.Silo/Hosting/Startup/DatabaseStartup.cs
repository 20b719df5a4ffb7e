using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wrenn.Silo.Cluster;
using Wrenn.Silo.Data;
using Wrenn.Silo.Persistence.LocalPostgres;
using Wrenn.Silo.Persistence.Migrations;
using Wrenn.Silo.Ports;

namespace Wrenn.Silo.Hosting.Startup;

/// <summary>
/// First to start, last to stop: the silo's own PostgreSQL (when it has one), then the schema —
/// refused while a silo of the old runtime still runs on the database, then the platform's,
/// Orleans' and port forwarding's migrations.
/// </summary>
public sealed class DatabaseStartup(WrennDatabase database, ILoggerFactory loggers) : IHostedService
{
    private LocalPostgres? _postgres;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (database.Local is { } local)
            _postgres = await LocalPostgres.StartAsync(local, loggers.CreateLogger<LocalPostgres>(), cancellationToken);
        await OldRuntimeGuard.ThrowIfOldSiloActiveAsync(database.Main, cancellationToken);
        var migrator = new SchemaMigrator(database.Main, loggers.CreateLogger<SchemaMigrator>());
        await migrator.ApplyAsync([.. WrennSchema.Migrations, .. ClusterSchema.Migrations, .. PortsSchema.Migrations], cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_postgres is not null)
            await _postgres.DisposeAsync();
    }
}
