using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Wrenn.Silo.Hosting;

/// <summary>What to do with running sandboxes when the silo stops.</summary>
public enum OnExit
{
    /// <summary>Leave VMs running; the next start re-adopts them.</summary>
    Keep,

    /// <summary>Destroy every sandbox of this host.</summary>
    Destroy,

    /// <summary>Pause every running sandbox of this host to disk; resume them after the next start.</summary>
    Pause,
}

/// <summary>
/// One Wrenn silo as the command line or a test starts it: where its state lives, which database,
/// which image. Everything else is configuration (<c>appsettings.json</c> in the data folder,
/// <c>WRENN__…</c> environment variables, then <see cref="Configuration"/>), bound per concern
/// (<c>Wrenn:Api</c>, <c>Wrenn:Cluster</c>, <c>Wrenn:Capacity</c>, <c>Wrenn:Sandboxes</c>,
/// <c>Wrenn:Reconciler</c>, <c>Wrenn:Plugins</c>) and validated at start.
/// </summary>
public sealed record WrennSiloOptions
{
    /// <summary>Durable state: the local PostgreSQL, disks, snapshots, the silo's identity.</summary>
    public required string DataDir { get; init; }

    /// <summary>A shared PostgreSQL; null runs the silo's own in <see cref="DataDir"/>.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>The guest image registered as the public <c>base</c> template.</summary>
    public required string ImageDir { get; init; }

    /// <summary>Overrides the owner prefix stored in the data folder (tests use their own).</summary>
    public string? OwnerPrefix { get; init; }

    /// <summary>Overrides the host (silo) name stored in the data folder.</summary>
    public string? SiloName { get; init; }

    public OnExit OnExit { get; init; } = OnExit.Keep;

    /// <summary>Settings that win over the file and the environment (the command line's flags, a test's).</summary>
    public IConfiguration Configuration { get; init; } = new ConfigurationBuilder().Build();

    /// <summary>Where logs go; none when null (tests).</summary>
    public Action<ILoggingBuilder>? Logging { get; init; }

    /// <summary>Services added or replaced after Wrenn's own (a test decorates the API's backend with it).</summary>
    public Action<IServiceCollection>? Services { get; init; }

    /// <summary>
    /// Boot the base image once at start and freeze it, so that creates of the base's default size
    /// restore a snapshot instead of booting (needs a memory plugin; takes seconds at start).
    /// </summary>
    public bool WarmBase { get; init; } = true;

    /// <summary>Defaults of the <c>base</c> template.</summary>
    public int BaseVcpus { get; init; } = 1;

    public int BaseMemoryMib { get; init; } = 256;
}
