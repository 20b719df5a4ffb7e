using Wrenn.Silo.Persistence.Migrations;

namespace Wrenn.Silo.Data;

/// <summary>The platform's own tables (teams, keys, audit, templates, sandboxes; webhooks in their own module), applied on start.</summary>
public static class WrennSchema
{
    public static IReadOnlyList<Migration> Migrations { get; } =
        [.. Migration.FromEmbeddedResources(typeof(WrennSchema).Assembly, "wrenn"), .. Webhooks.WebhookComposition.Migrations];
}
