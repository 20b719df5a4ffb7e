using Wrenn.GraphQL.Engine.Language;

namespace Wrenn.GraphQL.Engine.Execution;

/// <summary>
/// Prints a schema as SDL, laid out exactly as graphql-js <c>printSchema</c> lays it out (types in
/// the order introspection lists them, built-in scalars, directives and introspection types left
/// out), so that a client's <c>printSchema(buildClientSchema(introspection))</c> equals it.
/// </summary>
public static class SchemaPrinter
{
    public static string Print(GraphQLSchema schema)
    {
        var parts = new List<string>();
        if (SchemaDefinition(schema) is { } definition)
            parts.Add(definition);
        parts.AddRange(schema.Directives.Where(d => !DirectiveDefinition.BuiltIn.Any(b => b.Name == d.Name)).Select(Directive));
        parts.AddRange(schema.Types.Values.Where(t => !ScalarType.BuiltIn.Contains(t)).Select(Type));
        return string.Join("\n\n", parts);
    }

    private static string? SchemaDefinition(GraphQLSchema schema)
    {
        var commonNames = schema.Query.Name == "Query" && (schema.Mutation?.Name ?? "Mutation") == "Mutation"
            && (schema.Subscription?.Name ?? "Subscription") == "Subscription";
        if (schema.Description is null && commonNames)
            return null;
        var roots = new List<string> { $"  query: {schema.Query.Name}" };
        if (schema.Mutation is not null)
            roots.Add($"  mutation: {schema.Mutation.Name}");
        if (schema.Subscription is not null)
            roots.Add($"  subscription: {schema.Subscription.Name}");
        return Description(schema.Description) + "schema {\n" + string.Join("\n", roots) + "\n}";
    }

    private static string Type(NamedType type) => type switch
    {
        ScalarType s => Description(s.Description) + $"scalar {s.Name}" + (s.SpecifiedByUrl is { } url ? $" @specifiedBy(url: {Printer.QuotedString(url)})" : ""),
        ObjectType o => Description(o.Description) + $"type {o.Name}" + Interfaces(o) + Fields(o),
        InterfaceType i => Description(i.Description) + $"interface {i.Name}" + Interfaces(i) + Fields(i),
        UnionType u => Description(u.Description) + $"union {u.Name}" + (u.Members.Count > 0 ? " = " + string.Join(" | ", u.Members.Select(m => m.Name)) : ""),
        EnumType e => Description(e.Description) + $"enum {e.Name}" + Block(e.Definitions.Select((v, i) =>
            Description(v.Description, "  ", i == 0) + "  " + v.Name + Deprecated(v.DeprecationReason)).ToList()),
        InputObjectType io => Description(io.Description) + $"input {io.Name}" + Block(io.Fields.Values.Select((f, i) =>
            Description(f.Description, "  ", i == 0) + "  " + InputValueText(f)).ToList()),
        _ => throw new InvalidOperationException($"Cannot print {type.Name}."),
    };

    private static string Interfaces(FieldsType type) =>
        type.Interfaces.Count > 0 ? " implements " + string.Join(" & ", type.Interfaces.Select(i => i.Name)) : "";

    private static string Fields(FieldsType type) =>
        Block(type.Fields.Values.Select((f, i) =>
            Description(f.Description, "  ", i == 0) + "  " + f.Name + Arguments(f.Arguments, "  ") + ": " + f.Type + Deprecated(f.DeprecationReason)).ToList());

    private static string Block(IReadOnlyList<string> items) => items.Count > 0 ? " {\n" + string.Join("\n", items) + "\n}" : "";

    private static string Arguments(IReadOnlyList<InputValue> args, string indentation = "")
    {
        if (args.Count == 0)
            return "";
        if (args.All(a => string.IsNullOrEmpty(a.Description)))
            return "(" + string.Join(", ", args.Select(InputValueText)) + ")";
        return "(\n" + string.Join("\n", args.Select((a, i) => Description(a.Description, "  " + indentation, i == 0) + "  " + indentation + InputValueText(a)))
            + "\n" + indentation + ")";
    }

    private static string InputValueText(InputValue value) =>
        $"{value.Name}: {value.Type}" + (value.HasDefault ? " = " + ValuePrinter.Print(value.DefaultValue, value.Type) : "") + Deprecated(value.DeprecationReason);

    private static string Directive(DirectiveDefinition directive) =>
        Description(directive.Description) + "directive @" + directive.Name + Arguments(directive.Arguments)
        + (directive.IsRepeatable ? " repeatable" : "") + " on " + string.Join(" | ", directive.Locations);

    private static string Deprecated(string? reason) => reason switch
    {
        null => "",
        "No longer supported" => " @deprecated",
        _ => $" @deprecated(reason: {Printer.QuotedString(reason)})",
    };

    private static string Description(string? description, string indentation = "", bool firstInBlock = true)
    {
        if (description is null)
            return "";
        var text = Printer.PrintableAsBlockString(description) ? Printer.BlockString(description) : Printer.QuotedString(description);
        var prefix = indentation.Length > 0 && !firstInBlock ? "\n" + indentation : indentation;
        return prefix + text.Replace("\n", "\n" + indentation) + "\n";
    }
}
