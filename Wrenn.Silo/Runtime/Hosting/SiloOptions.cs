using System.Net;
using Wrenn.Silo.Runtime.Cluster;

namespace Wrenn.Silo.Runtime;

/// <summary>One silo of a cluster.</summary>
public sealed record SiloOptions
{
    /// <summary>Stable across restarts (pinned grains come back to it); unique in the cluster.</summary>
    public required string Name { get; init; }

    /// <summary>The cluster's PostgreSQL: every silo of a cluster uses the same database.</summary>
    public required string ConnectionString { get; init; }

    /// <summary>Where the internal endpoint (silo-to-silo HTTP/2) listens.</summary>
    public IPAddress ListenAddress { get; init; } = IPAddress.Loopback;

    /// <summary>0 picks a free port.</summary>
    public int Port { get; init; }

    /// <summary>The host name other silos use to reach this one; defaults to the listen address.</summary>
    public string? AdvertisedHost { get; init; }

    public MembershipOptions Membership { get; init; } = new();

    public RuntimeOptions Runtime { get; init; } = new();
}
