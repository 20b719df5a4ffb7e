using Wrenn.Silo.Persistence.Migrations;

namespace Wrenn.Silo.Data;

/// <summary>The platform's own tables (teams, keys, audit, templates, sandboxes), applied on start.</summary>
public static class WrennSchema
{
    public static IReadOnlyList<Migration> Migrations { get; } = Migration.FromEmbeddedResources(typeof(WrennSchema).Assembly, "wrenn");
}
