using System.Net;
using Microsoft.Extensions.Configuration;
using Wrenn.Silo.Runtime.Cluster;

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

/// <summary>One Wrenn silo: where its state lives, which database, which image.</summary>
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

    /// <summary>Overrides the silo name stored in the data folder.</summary>
    public string? SiloName { get; init; }

    public IPAddress InternalAddress { get; init; } = IPAddress.Loopback;

    /// <summary>The silo-to-silo endpoint's port; 0 picks a free one.</summary>
    public int InternalPort { get; init; }

    public MembershipOptions Membership { get; init; } = new();

    public TimeSpan ReconcileEvery { get; init; } = TimeSpan.FromMinutes(1);

    public OnExit OnExit { get; init; } = OnExit.Keep;

    /// <summary>Plugin choice (<c>Wrenn:Plugins:Vmm</c> …), plugin settings (<c>Wrenn:Plugins:{name}</c>), extra plugin folders (<c>Wrenn:Plugins:Paths</c>).</summary>
    public IConfiguration Configuration { get; init; } = new ConfigurationBuilder().Build();

    /// <summary>
    /// Boot the base image once at start and freeze it, so that creates of the base's default size
    /// restore a snapshot instead of booting (needs a memory plugin; takes seconds at start).
    /// </summary>
    public bool WarmBase { get; init; } = true;

    /// <summary>Defaults of the <c>base</c> template.</summary>
    public int BaseVcpus { get; init; } = 1;

    public int BaseMemoryMib { get; init; } = 256;
}
