using System.Text.Json.Nodes;

namespace Wrenn.Silo.Tests.Api.Adversarial;

/// <summary>A type reference as introspection gives it: NON_NULL and LIST wrap a named type.</summary>
public sealed record TypeRef(string Kind, string? Name, TypeRef? OfType)
{
    public bool IsNonNull => Kind == "NON_NULL";

    public bool IsList => Kind == "LIST" || (IsNonNull && OfType!.IsList);

    /// <summary>The named type inside the wrappers.</summary>
    public TypeRef Named => OfType is null ? this : OfType.Named;

    /// <summary>As a variable declares it (<c>[String!]</c>, <c>ID!</c>).</summary>
    public override string ToString() => Kind switch
    {
        "NON_NULL" => $"{OfType}!",
        "LIST" => $"[{OfType}]",
        _ => Name!,
    };

    public static TypeRef From(JsonNode node) =>
        new(node["kind"]!.GetValue<string>(), node["name"]?.GetValue<string>(), node["ofType"] is { } inner ? From(inner) : null);
}

public sealed record InputValue(string Name, TypeRef Type, string? DefaultValue)
{
    public bool IsRequired => Type.IsNonNull && DefaultValue is null;
}

public sealed record FieldDef(string Name, IReadOnlyList<InputValue> Args, TypeRef Type);

public sealed record TypeDef(string Kind, string Name, IReadOnlyList<FieldDef> Fields, IReadOnlyList<InputValue> InputFields, IReadOnlyList<string> EnumValues);

/// <summary>The API's schema as a client learns it: by introspection, nothing taken from the server's code.</summary>
public sealed record IntrospectedSchema(string Query, string? Mutation, string? Subscription, IReadOnlyDictionary<string, TypeDef> Types)
{
    public const string Document = """
        query Walk { __schema { queryType { name } mutationType { name } subscriptionType { name }
          types { kind name
            fields(includeDeprecated: true) { name args { name defaultValue type { ...T } } type { ...T } }
            inputFields { name defaultValue type { ...T } }
            enumValues(includeDeprecated: true) { name } } } }
        fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }
        """;

    public TypeDef this[string name] => Types[name];

    /// <summary>The root fields: queries, then subscriptions, then mutations (those that destroy, delete or revoke last).</summary>
    public IEnumerable<(string Operation, FieldDef Field)> RootFields()
    {
        foreach (var field in Types[Query].Fields)
            yield return ("query", field);
        if (Subscription is not null)
            foreach (var field in Types[Subscription].Fields)
                yield return ("subscription", field);
        if (Mutation is not null)
            foreach (var field in Types[Mutation].Fields.OrderBy(f => IsDestructive(f.Name)))
                yield return ("mutation", field);
    }

    private static bool IsDestructive(string field) =>
        field.StartsWith("destroy", StringComparison.Ordinal) || field.StartsWith("delete", StringComparison.Ordinal) || field.StartsWith("revoke", StringComparison.Ordinal);

    public static IntrospectedSchema From(JsonNode data)
    {
        var schema = data["__schema"]!;
        static IReadOnlyList<InputValue> Values(JsonNode? list) =>
            list is JsonArray items ? items.Select(v => new InputValue(v!["name"]!.GetValue<string>(), TypeRef.From(v["type"]!), v["defaultValue"]?.GetValue<string>())).ToList() : [];
        var types = new Dictionary<string, TypeDef>();
        foreach (var type in schema["types"]!.AsArray())
        {
            var fields = type!["fields"] is JsonArray f
                ? f.Select(x => new FieldDef(x!["name"]!.GetValue<string>(), Values(x["args"]), TypeRef.From(x["type"]!))).ToList()
                : [];
            var enumValues = type["enumValues"] is JsonArray e ? e.Select(x => x!["name"]!.GetValue<string>()).ToList() : [];
            types[type["name"]!.GetValue<string>()] = new TypeDef(type["kind"]!.GetValue<string>(), type["name"]!.GetValue<string>(), fields, Values(type["inputFields"]), enumValues);
        }
        return new IntrospectedSchema(schema["queryType"]!["name"]!.GetValue<string>(), schema["mutationType"]?["name"]?.GetValue<string>(),
            schema["subscriptionType"]?["name"]?.GetValue<string>(), types);
    }

    /// <summary>
    /// A selection of everything a client could read from <paramref name="type"/> without arguments,
    /// a few levels deep (deeper objects by their <c>__typename</c> only), so that whatever a field
    /// gives away is in the answer.
    /// </summary>
    public string Selection(TypeRef type, int depth = 0)
    {
        var named = Types[type.Named.Name!];
        if (named.Kind is not ("OBJECT" or "INTERFACE"))
            return named.Kind == "UNION" ? "{ __typename }" : "";
        if (depth >= 3)
            return "{ __typename }";
        var parts = new List<string>();
        foreach (var field in named.Fields.Where(f => !f.Args.Any(a => a.IsRequired)))
        {
            var inner = Selection(field.Type, depth + 1);
            parts.Add(inner.Length == 0 ? field.Name : $"{field.Name} {inner}");
        }
        return "{ " + string.Join(" ", parts.DefaultIfEmpty("__typename")) + " }";
    }
}
