using Wrenn.Silo.Persistence.Migrations;

namespace Wrenn.Silo.Cluster;

/// <summary>The tables and stored queries of Orleans' ADO.NET providers (module <c>orleans</c>), applied on start.</summary>
public static class ClusterSchema
{
    public static IReadOnlyList<Migration> Migrations { get; } = Migration.FromEmbeddedResources(typeof(ClusterSchema).Assembly, "orleans");
}
