using System.Globalization;
using System.Text.Json.Nodes;

namespace Wrenn.Silo.Tests.Api.Adversarial;

/// <summary>The kinds of things a team owns that an argument can name. Add a kind here, and a way to seed one in <see cref="TeamResources"/>, when the API grows one.</summary>
public enum ResourceKind { Sandbox, Template, Team, ApiKey, Process, Port, Webhook }

/// <summary>What an argument is to the walk.</summary>
public abstract record ArgumentRole
{
    /// <summary>An ordinary value (a path, a command, a new name): filled with something harmless.</summary>
    public sealed record Plain : ArgumentRole;

    /// <summary>Names one of the victim's things: the call must be refused (NOT_FOUND, FORBIDDEN, null).</summary>
    public sealed record Target(ResourceKind Kind) : ArgumentRole;

    /// <summary>Pages on from one of the victim's things: the answer may carry data, but nothing of the victim's.</summary>
    public sealed record Cursor(ResourceKind Kind) : ArgumentRole;

    /// <summary>Looks like a reference the walk cannot fill: the walk fails until it learns what it is.</summary>
    public sealed record Unknown(string Why) : ArgumentRole;
}

/// <summary>
/// Tells from its name (and its field's) what an argument refers to, by the API's naming: <c>sandboxId</c>,
/// <c>templateId</c>, <c>template</c>, <c>team</c>, <c>keyId</c>, <c>pid</c>, <c>port</c>, <c>webhookId</c> say so
/// themselves; a bare <c>id</c> or <c>name</c> refers to what its field is about (<c>destroySandbox(id)</c>,
/// <c>deleteTemplate(name)</c>), except a <c>name</c> given to something being created or inside an input
/// object (<c>startProcess(env: [{name}])</c> names a variable); <c>after</c> and
/// <c>before</c> are cursors. Any other argument typed ID or named …Id is a reference the walk does not know,
/// and fails it: a new field is covered, or the walk says why it cannot be.
/// </summary>
public static class ArgumentRoles
{
    /// <summary>Words that name a kind, in argument names and field names. (A bare <c>key</c> is a metadata key, so "key" names an API key only as <c>keyId</c>.)</summary>
    private static readonly (string Word, ResourceKind Kind)[] Words =
    [
        ("sandbox", ResourceKind.Sandbox), ("template", ResourceKind.Template), ("team", ResourceKind.Team),
        ("apikey", ResourceKind.ApiKey), ("process", ResourceKind.Process), ("pid", ResourceKind.Process),
        ("port", ResourceKind.Port), ("webhook", ResourceKind.Webhook),
    ];

    /// <param name="nested">The argument is a field of an input object, not one of the field's own.</param>
    public static ArgumentRole Of(string field, string argument, TypeRef type, bool nested = false)
    {
        var isId = argument.EndsWith("Id", StringComparison.Ordinal) || argument.EndsWith("Ids", StringComparison.Ordinal);
        var stem = argument.EndsWith("Ids", StringComparison.Ordinal) ? argument[..^3] : argument.EndsWith("Id", StringComparison.Ordinal) ? argument[..^2] : argument;
        if (isId && stem == "key")
            return new ArgumentRole.Target(ResourceKind.ApiKey);
        foreach (var (word, kind) in Words)
        {
            if (string.Equals(stem, word, StringComparison.OrdinalIgnoreCase))
                return new ArgumentRole.Target(kind);
        }
        switch (argument)
        {
            case "id" or "ids":
                return KindInName(field) is { } about
                    ? new ArgumentRole.Target(about)
                    : new ArgumentRole.Unknown($"`{field}({argument})`: the field's name says nothing of what the id names");
            case "name":
                return !nested && !field.StartsWith("create", StringComparison.Ordinal) && KindInName(field) is { } named ? new ArgumentRole.Target(named) : new ArgumentRole.Plain();
            case "after" or "before":
                return KindInName(field) is { } paged
                    ? new ArgumentRole.Cursor(paged)
                    : new ArgumentRole.Unknown($"`{field}({argument})`: a cursor of a field whose name says nothing of what it pages");
        }
        if (type.Named.Name == "ID" || isId)
            return new ArgumentRole.Unknown($"`{field}({argument}: {type})` looks like a reference, but to nothing the walk knows (add its kind to {nameof(ResourceKind)} and a seeder to {nameof(TeamResources)})");
        return new ArgumentRole.Plain();
    }

    /// <summary>The kind the field's name is about: the word that comes first in it (the longer one when two start together).</summary>
    private static ResourceKind? KindInName(string field)
    {
        var lower = field.ToLowerInvariant();
        return Words.Select(w => (w.Kind, At: lower.IndexOf(w.Word, StringComparison.Ordinal), w.Word.Length))
            .Where(w => w.At >= 0).OrderBy(w => w.At).ThenByDescending(w => w.Length).Select(w => (ResourceKind?)w.Kind).FirstOrDefault();
    }

    /// <summary>A harmless value for an ordinary argument; a path is the victim's marker file, so a write that got through shows in its state.</summary>
    public static JsonNode? PlainValue(string argument, TypeDef type, int serial) => type.Kind switch
    {
        "ENUM" => JsonValue.Create(type.EnumValues[0]),
        _ => type.Name switch
        {
            "String" => JsonValue.Create(argument switch
            {
                "path" => TeamResources.MarkerPath,
                "command" => "true",
                "cwd" => "/",
                _ when argument.Contains("name", StringComparison.OrdinalIgnoreCase) => $"probe-{serial}",
                _ => "probe",
            }),
            "Int" => JsonValue.Create(argument.ToLowerInvariant() switch
            {
                var a when a.Contains("second") || a.Contains("timeout") => 3600,
                var a when a.Contains("memory") => 256,
                _ => 1,
            }),
            "Float" => JsonValue.Create(1.0),
            "Boolean" => JsonValue.Create(false),
            "DateTime" => JsonValue.Create(DateTimeOffset.UtcNow.AddDays(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)),
            _ => JsonValue.Create("probe"),
        },
    };
}
