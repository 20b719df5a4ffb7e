using System.Globalization;
using System.Text;
using GraphQL;
using GraphQL.Types;
using GraphQLParser.AST;

namespace Wrenn.GraphQL.Schema;

/// <summary>
/// The schema as SDL (served at /schema.graphql), laid out exactly as graphql-js <c>printSchema</c> lays it
/// out: types in the order introspection lists them, built-in scalars, directives and introspection types
/// left out, descriptions as block strings. So a client's <c>printSchema(buildClientSchema(introspection))</c>
/// equals it, which GraphQL.NET's own printer (another layout, no <c>@specifiedBy</c>) does not give.
/// </summary>
public static class SchemaSdl
{
    private static readonly HashSet<string> BuiltInScalars = ["String", "Int", "Float", "Boolean", "ID"];
    private static readonly HashSet<string> BuiltInDirectives = ["include", "skip", "deprecated", "specifiedBy", "oneOf"];

    public static string Print(ISchema schema)
    {
        schema.Initialize();
        var parts = new List<string>();
        if (SchemaDefinition(schema) is { } definition)
            parts.Add(definition);
        parts.AddRange(schema.Directives.Where(d => !BuiltInDirectives.Contains(d.Name)).Select(Directive));
        parts.AddRange(schema.AllTypes.Where(t => !t.Name.StartsWith("__", StringComparison.Ordinal) && !BuiltInScalars.Contains(t.Name)).Select(Type));
        return string.Join("\n\n", parts);
    }

    private static string? SchemaDefinition(ISchema schema)
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

    private static string Type(IGraphType type) => type switch
    {
        EnumerationGraphType e => Description(e.Description) + $"enum {e.Name}" + Block(e.Values.Select((v, i) =>
            Description(v.Description, "  ", i == 0) + "  " + v.Name + Deprecated(v.DeprecationReason)).ToList()),
        ScalarGraphType s => Description(s.Description) + $"scalar {s.Name}"
            + (s.GetMetadata<string?>(WrennSchema.SpecifiedByUrlKey) is { } url ? $" @specifiedBy(url: {QuotedString(url)})" : ""),
        IObjectGraphType o => Description(o.Description) + $"type {o.Name}" + Interfaces(o.ResolvedInterfaces) + Fields(o),
        IInterfaceGraphType i => Description(i.Description) + $"interface {i.Name}" + Interfaces(i.ResolvedInterfaces) + Fields(i),
        UnionGraphType u => Description(u.Description) + $"union {u.Name}" + (u.PossibleTypes.Count > 0 ? " = " + string.Join(" | ", u.PossibleTypes.Select(m => m.Name)) : ""),
        IInputObjectGraphType io => Description(io.Description) + $"input {io.Name}" + Block(io.Fields.Select((f, i) =>
            Description(f.Description, "  ", i == 0) + "  " + InputValue(f.Name, f.ResolvedType!, f.DefaultValue, f.DeprecationReason)).ToList()),
        _ => throw new InvalidOperationException($"Cannot print {type.Name}."),
    };

    private static string Interfaces(IEnumerable<IInterfaceGraphType> interfaces) =>
        interfaces.Any() ? " implements " + string.Join(" & ", interfaces.Select(i => i.Name)) : "";

    private static string Fields(IComplexGraphType type) =>
        Block(type.Fields.Select((f, i) =>
            Description(f.Description, "  ", i == 0) + "  " + f.Name + Arguments(f.Arguments, "  ") + ": " + TypeName(f.ResolvedType!) + Deprecated(f.DeprecationReason)).ToList());

    private static string Block(IReadOnlyList<string> items) => items.Count > 0 ? " {\n" + string.Join("\n", items) + "\n}" : "";

    private static string Arguments(QueryArguments? args, string indentation = "")
    {
        if (args is null || args.Count == 0)
            return "";
        if (args.All(a => string.IsNullOrEmpty(a.Description)))
            return "(" + string.Join(", ", args.Select(a => InputValue(a.Name, a.ResolvedType!, a.DefaultValue, a.DeprecationReason))) + ")";
        return "(\n" + string.Join("\n", args.Select((a, i) => Description(a.Description, "  " + indentation, i == 0) + "  " + indentation
            + InputValue(a.Name, a.ResolvedType!, a.DefaultValue, a.DeprecationReason))) + "\n" + indentation + ")";
    }

    private static string InputValue(string name, IGraphType type, object? defaultValue, string? deprecationReason) =>
        $"{name}: {TypeName(type)}" + (defaultValue is null ? "" : " = " + Value(type.ToAST(defaultValue))) + Deprecated(deprecationReason);

    private static string Directive(Directive directive) =>
        Description(directive.Description) + "directive @" + directive.Name + Arguments(directive.Arguments)
        + (directive.Repeatable ? " repeatable" : "") + " on " + string.Join(" | ", directive.Locations.Select(l => LocationName(l)));

    private static string LocationName(DirectiveLocation location) =>
        string.Concat(location.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : c.ToString())).ToUpperInvariant();

    private static string TypeName(IGraphType type) => type switch
    {
        NonNullGraphType n => TypeName(n.ResolvedType!) + "!",
        ListGraphType l => "[" + TypeName(l.ResolvedType!) + "]",
        _ => type.Name,
    };

    private static string Value(GraphQLValue value) => value switch
    {
        GraphQLIntValue i => (string)i.Value,
        GraphQLFloatValue f => (string)f.Value,
        GraphQLStringValue s => QuotedString((string)s.Value),
        GraphQLBooleanValue b => b.BoolValue ? "true" : "false",
        GraphQLNullValue => "null",
        GraphQLEnumValue e => (string)e.Name.Value,
        GraphQLListValue l => "[" + string.Join(", ", (l.Values ?? []).Select(Value)) + "]",
        GraphQLObjectValue o => "{" + string.Join(", ", (o.Fields ?? []).Select(f => $"{(string)f.Name.Value}: {Value(f.Value)}")) + "}",
        _ => throw new InvalidOperationException($"Cannot print a default value of kind {value.Kind}."),
    };

    private static string Deprecated(string? reason) => reason switch
    {
        null => "",
        "No longer supported" => " @deprecated",
        _ => $" @deprecated(reason: {QuotedString(reason)})",
    };

    private static string Description(string? description, string indentation = "", bool firstInBlock = true)
    {
        if (description is null)
            return "";
        var text = PrintableAsBlockString(description) ? BlockString(description) : QuotedString(description);
        var prefix = indentation.Length > 0 && !firstInBlock ? "\n" + indentation : indentation;
        return prefix + text.Replace("\n", "\n" + indentation) + "\n";
    }

    /// <summary>A string literal as graphql-js prints it: JSON escaping, but only the characters GraphQL needs.</summary>
    private static string QuotedString(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
                        sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                    else
                        sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>A block string literal, laid out the way graphql-js lays it out.</summary>
    private static string BlockString(string value)
    {
        var escaped = value.Replace("\"\"\"", "\\\"\"\"");
        var lines = escaped.Split(["\r\n", "\n", "\r"], StringSplitOptions.None);
        var singleLine = lines.Length == 1;
        static bool White(char c) => c is ' ' or '\t';
        var forceLeadingNewLine = lines.Length > 1 && lines.Skip(1).All(l => l.Length == 0 || White(l[0]));
        var trailingTripleQuotes = escaped.EndsWith("\\\"\"\"", StringComparison.Ordinal);
        var trailingQuote = value.EndsWith('"') && !trailingTripleQuotes;
        var trailingSlash = value.EndsWith('\\');
        var forceTrailingNewLine = trailingQuote || trailingSlash;
        var multipleLines = !singleLine || value.Length > 70 || forceTrailingNewLine || forceLeadingNewLine || trailingTripleQuotes;
        var skipLeadingNewLine = singleLine && value.Length > 0 && White(value[0]);
        var result = new StringBuilder("\"\"\"");
        if ((multipleLines && !skipLeadingNewLine) || forceLeadingNewLine)
            result.Append('\n');
        result.Append(escaped);
        if (multipleLines || forceTrailingNewLine)
            result.Append('\n');
        return result.Append("\"\"\"").ToString();
    }

    /// <summary>Whether graphql-js would print this text as a block string (no control characters, sensible layout).</summary>
    private static bool PrintableAsBlockString(string value)
    {
        if (value.Length == 0)
            return true;
        var isEmptyLine = true;
        var hasIndent = false;
        var hasCommonIndent = true;
        var seenNonEmptyLine = false;
        foreach (var c in value)
        {
            switch (c)
            {
                case '\u0000' or '\u0001' or '\u0002' or '\u0003' or '\u0004' or '\u0005' or '\u0006' or '\u0007' or '\u0008'
                    or '\u000B' or '\u000C' or '\u000E' or '\u000F':
                    return false;
                case '\r':
                    return false;
                case '\n':
                    if (isEmptyLine && !seenNonEmptyLine)
                        return false;
                    seenNonEmptyLine = true;
                    isEmptyLine = true;
                    hasIndent = false;
                    break;
                case '\t' or ' ':
                    hasIndent |= isEmptyLine;
                    break;
                default:
                    hasCommonIndent &= hasIndent;
                    isEmptyLine = false;
                    break;
            }
        }
        if (isEmptyLine)
            return false;
        if (hasCommonIndent && seenNonEmptyLine)
            return false;
        return true;
    }
}
