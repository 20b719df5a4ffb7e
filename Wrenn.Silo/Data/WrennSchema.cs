using Wrenn.Silo.Persistence.Migrations;

namespace Wrenn.Silo.Data;

/// <summary>
/// The platform's own tables (teams, keys, audit, templates, sandboxes), applied on start: module
/// <c>wrenn</c>, then <c>wrenn-teams</c> (quotas, key expiry and last use), which builds on it and
/// numbers its steps apart from it (the migrator orders modules by name); webhooks in their own module.
/// </summary>
public static class WrennSchema
{
    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        .. Migration.FromEmbeddedResources(typeof(WrennSchema).Assembly, "wrenn"),
        .. Migration.FromEmbeddedResources(typeof(WrennSchema).Assembly, "wrenn-teams"),
        .. Webhooks.WebhookComposition.Migrations,
    ];
}
