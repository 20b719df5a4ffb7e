using Npgsql;
using Wrenn.Silo.Persistence.LocalPostgres;

namespace Wrenn.Silo.Data;

/// <summary>
/// The silo's database: the shared PostgreSQL it was given, or its own (started by
/// <see cref="Hosting.Startup.DatabaseStartup"/> before anything else runs). Known before it
/// starts, so the services that use it are composed first. Membership gets a pool of its own: a
/// burst of calls that fills the main pool must never hold a heartbeat back.
/// </summary>
public sealed class WrennDatabase : IAsyncDisposable
{
    private WrennDatabase(string connectionString, LocalPostgresOptions? local)
    {
        ConnectionString = connectionString;
        Local = local;
        Main = NpgsqlDataSource.Create(connectionString);
        Membership = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 4, ApplicationName = "wrenn-membership" }.ConnectionString);
    }

    /// <summary>A shared database: the silo joins the cluster of every silo on it.</summary>
    public static WrennDatabase Shared(string connectionString) => new(connectionString, null);

    /// <summary>The silo's own PostgreSQL in its data folder (its socket under /run/wrenn).</summary>
    public static WrennDatabase Own(LocalPostgresOptions options) => new(LocalPostgres.ConnectionStringFor(options), options);

    public string ConnectionString { get; }

    /// <summary>Set when the silo runs its own PostgreSQL.</summary>
    public LocalPostgresOptions? Local { get; }

    /// <summary>The platform's tables, grain storage and reminders.</summary>
    public NpgsqlDataSource Main { get; }

    /// <summary>Orleans' membership table only (heartbeats, votes, the cluster view).</summary>
    public NpgsqlDataSource Membership { get; }

    public async ValueTask DisposeAsync()
    {
        await Main.DisposeAsync();
        await Membership.DisposeAsync();
    }
}
