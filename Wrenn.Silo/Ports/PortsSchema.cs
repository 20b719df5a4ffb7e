using Wrenn.Silo.Persistence.Migrations;

namespace Wrenn.Silo.Ports;

/// <summary>Port forwarding's tables (the cluster's signing key, the silos' API addresses): a migration module of its own, applied on start.</summary>
public static class PortsSchema
{
    public static IReadOnlyList<Migration> Migrations { get; } = Migration.FromEmbeddedResources(typeof(PortsSchema).Assembly, "ports");
}
