using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Wrenn.Silo.Cluster;
using Wrenn.Silo.Data;
using Wrenn.Silo.Persistence.LocalPostgres;
using Wrenn.Silo.Persistence.Migrations;

namespace Wrenn.Silo.Cli;

/// <summary>
/// The database for operator commands: the shared one (--postgres), else the silo's own — reached
/// through its socket while the silo runs, or started for the command while it does not.
/// </summary>
internal sealed class AdminDatabase : IAsyncDisposable
{
    public static readonly Option<string> DataDirOption = new("--data-dir")
    {
        Description = "The silo's data folder.",
        DefaultValueFactory = _ => Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share", "wrenn"),
    };

    public static readonly Option<string?> PostgresOption = new("--postgres") { Description = "Connection string of a shared PostgreSQL." };

    private readonly LocalPostgres? _started;

    private AdminDatabase(NpgsqlDataSource dataSource, LocalPostgres? started)
    {
        DataSource = dataSource;
        _started = started;
    }

    public NpgsqlDataSource DataSource { get; }

    public static async Task<AdminDatabase> OpenAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        if (parse.GetValue(PostgresOption) is { } shared)
            return await MigratedAsync(NpgsqlDataSource.Create(shared), null, cancellationToken);
        var dataDir = Path.GetFullPath(parse.GetValue(DataDirOption)!);
        var identity = Hosting.SiloIdentity.LoadOrCreate(dataDir);
        var options = new LocalPostgresOptions { Folder = Path.Combine(dataDir, "postgres"), SocketDir = Path.Combine("/run/wrenn", $"pg-{identity.OwnerPrefix}") };
        var running = File.Exists(Path.Combine(options.Folder, "data", "postmaster.pid"));
        if (running)
            return await MigratedAsync(NpgsqlDataSource.Create(LocalPostgres.ConnectionStringFor(options)), null, cancellationToken);
        var started = await LocalPostgres.StartAsync(options, NullLogger.Instance, cancellationToken);
        return await MigratedAsync(NpgsqlDataSource.Create(started.ConnectionString), started, cancellationToken);
    }

    private static async Task<AdminDatabase> MigratedAsync(NpgsqlDataSource dataSource, LocalPostgres? started, CancellationToken cancellationToken)
    {
        await OldRuntimeGuard.ThrowIfOldSiloActiveAsync(dataSource, cancellationToken);
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).ApplyAsync([.. WrennSchema.Migrations, .. ClusterSchema.Migrations], cancellationToken);
        return new AdminDatabase(dataSource, started);
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        if (_started is not null)
            await _started.DisposeAsync();
    }
}
