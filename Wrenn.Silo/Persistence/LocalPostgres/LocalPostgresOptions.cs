namespace Wrenn.Silo.Persistence.LocalPostgres;

/// <summary>Where and how a silo runs its own PostgreSQL when no connection string is configured.</summary>
public sealed record LocalPostgresOptions
{
    /// <summary>Durable folder holding <c>data/</c> (the cluster, owned by <see cref="OsUser"/>) and the generated password.</summary>
    public required string Folder { get; init; }

    /// <summary>Folder for the Unix socket; keep it short and under /run/wrenn (socket paths are limited to 108 bytes).</summary>
    public required string SocketDir { get; init; }

    /// <summary>PostgreSQL refuses to run as root, so it runs as this existing OS user.</summary>
    public string OsUser { get; init; } = "postgres";

    /// <summary>The database Wrenn uses; created on first start.</summary>
    public string Database { get; init; } = "wrenn";

    /// <summary>The PostgreSQL role Wrenn connects as; created by initdb as the superuser.</summary>
    public string Role { get; init; } = "wrenn";

    /// <summary>
    /// False turns off fsync and synchronous commit: for tests and throwaway clusters only, where a
    /// machine crash may lose the database but speed matters.
    /// </summary>
    public bool Durable { get; init; } = true;

    /// <summary>How long to wait for the server to accept connections.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);
}
