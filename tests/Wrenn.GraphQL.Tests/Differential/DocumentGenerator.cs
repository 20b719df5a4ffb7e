using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using GraphQL.Types;

namespace Wrenn.GraphQL.Tests.Differential;

/// <summary>
/// Documents against Wrenn's schema from a seed: operations walking the schema's own fields, arguments,
/// input objects, enums, lists, variables, aliases, fragments and directives, about half of them broken
/// on purpose in one of many ways (unknown names, missing or wrong arguments, bad selections, conflicting
/// aliases, fragments on the wrong type, variables undefined, unused or of the wrong type). Which of them
/// are valid is for graphql-js to say.
/// </summary>
public sealed class DocumentGenerator(ISchema schema, int seed)
{
    private readonly Random _random = new(seed);
    private readonly List<string> _fragments = [];
    private readonly List<(string Name, string Type, JsonNode? Value)> _variables = [];
    private bool _broken;

    public (string Query, string? Variables) Next()
    {
        _fragments.Clear();
        _variables.Clear();
        _broken = _random.Next(2) == 0;
        var (keyword, root) = _random.Next(10) switch
        {
            < 6 => ("query", (IComplexGraphType)schema.Query),
            < 9 => ("mutation", schema.Mutation!),
            _ => ("subscription", schema.Subscription!),
        };
        var selection = Selections(root, depth: 0, roots: keyword == "subscription" ? 1 : _random.Next(1, 4));
        var header = _variables.Count > 0 || _random.Next(3) == 0
            ? $"{keyword} Op{_random.Next(100)}" + (_variables.Count > 0 ? "(" + string.Join(", ", _variables.Select(v => $"${v.Name}: {v.Type}")) + ")" : "")
            : keyword == "query" && _random.Next(2) == 0 ? "" : keyword;
        if (Break(8))
            header = header.Length == 0 ? "query Q($unused: Int)" : header + (_variables.Count > 0 ? "" : "($unused: Int)");
        var query = (header.Length > 0 ? header + " " : "") + selection + string.Concat(_fragments);
        JsonObject? variables = null;
        if (_variables.Count > 0)
        {
            variables = [];
            foreach (var (name, _, value) in _variables)
                if (value is not null || _random.Next(3) > 0)
                    variables[name] = value?.DeepClone();
        }
        return (query, variables?.ToJsonString());
    }

    /// <summary>True when this document is meant to break here (rarely: one break is enough).</summary>
    private bool Break(int oneIn) => _broken && _random.Next(oneIn) == 0;

    private string Selections(IComplexGraphType type, int depth, int roots = 0)
    {
        var fields = type.Fields.ToList();
        var parts = new List<string>();
        var count = roots > 0 ? roots : _random.Next(1, Math.Min(4, fields.Count) + 1);
        for (var i = 0; i < count; i++)
            parts.Add(FieldSelection(type, fields[_random.Next(fields.Count)], depth));
        if (Break(10))
            parts.Add("notAField" + _random.Next(3));
        if (_random.Next(6) == 0)
            parts.Add("__typename");
        if (depth > 0 && _random.Next(5) == 0)
            parts.Add($"... on {(Break(4) ? "Team" : type.Name)} {{ {FieldSelection(type, fields[_random.Next(fields.Count)], depth + 1)} }}");
        if (depth > 0 && _random.Next(6) == 0)
        {
            var name = "F" + _fragments.Count;
            var on = Break(4) ? "Host" : type.Name;
            _fragments.Add($" fragment {name} on {on} {Selections(type, depth + 1)}");
            parts.Add("..." + name);
        }
        if (Break(12))
            parts.Add("...Missing");
        return "{ " + string.Join(" ", parts) + " }";
    }

    private string FieldSelection(IComplexGraphType parent, FieldType field, int depth)
    {
        var text = new StringBuilder();
        if (_random.Next(4) == 0)
            text.Append(Break(5) ? "same: " : $"a{_random.Next(1000)}: ");
        text.Append(field.Name);
        var args = Arguments(field);
        text.Append(args);
        if (_random.Next(8) == 0)
            text.Append(Break(4) ? " @unknown" : $" @{(_random.Next(2) == 0 ? "skip" : "include")}(if: {(_random.Next(2) == 0 ? "true" : "false")})");
        var named = Unwrap(field.ResolvedType!);
        if (named is IComplexGraphType complex)
        {
            if (!Break(6))
                text.Append(' ').Append(depth >= 3 ? "{ __typename }" : Selections(complex, depth + 1));
        }
        else if (Break(8))
            text.Append(" { nothing }");
        return text.ToString();
    }

    private string Arguments(FieldType field)
    {
        var parts = new List<string>();
        foreach (var arg in field.Arguments ?? [])
        {
            var required = arg.ResolvedType is NonNullGraphType && arg.DefaultValue is null;
            if (!required && _random.Next(2) == 0)
                continue;
            if (required && Break(6))
                continue;
            if (_random.Next(4) == 0)
            {
                var name = "v" + _variables.Count;
                var declared = Break(6) ? "Boolean" : TypeName(arg.ResolvedType!);
                if (!Break(8))
                    _variables.Add((name, declared, JsonValue(arg.ResolvedType!, 0)));
                parts.Add($"{arg.Name}: ${name}");
            }
            else
            {
                parts.Add($"{arg.Name}: {Literal(arg.ResolvedType!, 0)}");
            }
        }
        if (Break(10))
            parts.Add("bogus: 1");
        return parts.Count == 0 ? "" : "(" + string.Join(", ", parts) + ")";
    }

    private string Literal(IGraphType type, int depth)
    {
        if (type is NonNullGraphType nonNull)
            return Break(10) ? "null" : Literal(nonNull.ResolvedType!, depth);
        if (_random.Next(12) == 0)
            return "null";
        switch (type)
        {
            case ListGraphType list:
                return _random.Next(3) == 0 ? Literal(list.ResolvedType!, depth) : "[" + string.Join(", ", Enumerable.Range(0, _random.Next(3)).Select(_ => Literal(list.ResolvedType!, depth))) + "]";
            case IInputObjectGraphType input:
                var fields = input.Fields.Where(f => f.ResolvedType is NonNullGraphType || _random.Next(2) == 0)
                    .Select(f => $"{f.Name}: {Literal(f.ResolvedType!, depth + 1)}").ToList();
                if (Break(8))
                    fields.Add("extra: 1");
                return "{" + string.Join(", ", fields) + "}";
            case EnumerationGraphType e:
                return Break(6) ? "NOT_A_VALUE" : Break(8) ? $"\"{e.Values.First().Name}\"" : e.Values.ElementAt(_random.Next(e.Values.Count)).Name;
        }
        return type.Name switch
        {
            "Int" => Break(6) ? "\"seven\"" : Break(8) ? "1.5" : _random.Next(-5, 600).ToString(CultureInfo.InvariantCulture),
            "Float" => (_random.NextDouble() * 100).ToString("0.##", CultureInfo.InvariantCulture),
            "Boolean" => Break(8) ? "1" : _random.Next(2) == 0 ? "true" : "false",
            "ID" => Break(10) ? "true" : _random.Next(3) == 0 ? _random.Next(100).ToString(CultureInfo.InvariantCulture) : $"\"sb-{_random.Next(100)}\"",
            // graphql-js, given only the SDL, cannot tell a valid custom scalar from another string: only valid ones are sent.
            "DateTime" => $"\"{DateTimeText()}\"",
            _ => Break(10) ? "12" : $"\"s{_random.Next(100)}\"",
        };
    }

    private JsonNode? JsonValue(IGraphType type, int depth)
    {
        if (type is NonNullGraphType nonNull)
            return Break(8) ? null : JsonValue(nonNull.ResolvedType!, depth);
        if (_random.Next(10) == 0)
            return null;
        switch (type)
        {
            case ListGraphType list:
                return _random.Next(3) == 0 ? JsonValue(list.ResolvedType!, depth) : new JsonArray(Enumerable.Range(0, _random.Next(3)).Select(_ => JsonValue(list.ResolvedType!, depth)).ToArray());
            case IInputObjectGraphType input:
                var obj = new JsonObject();
                foreach (var f in input.Fields.Where(f => f.ResolvedType is NonNullGraphType || _random.Next(2) == 0))
                    obj[f.Name] = JsonValue(f.ResolvedType!, depth + 1);
                if (Break(8))
                    obj["extra"] = 1;
                return obj;
            case EnumerationGraphType e:
                return Break(6) ? "NOT_A_VALUE" : e.Values.ElementAt(_random.Next(e.Values.Count)).Name;
        }
        return type.Name switch
        {
            "Int" => Break(6) ? "seven" : Break(8) ? 1.5 : _random.Next(-5, 600),
            "Float" => Math.Round(_random.NextDouble() * 100, 2),
            "Boolean" => Break(8) ? 1 : _random.Next(2) == 0,
            "ID" => _random.Next(3) == 0 ? _random.Next(100) : $"sb-{_random.Next(100)}",
            "DateTime" => DateTimeText(),
            _ => Break(10) ? 12 : $"s{_random.Next(100)}",
        };
    }

    private string DateTimeText() => new DateTime(2027, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(_random.Next(1_000_000)).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static IGraphType Unwrap(IGraphType type) => type switch
    {
        NonNullGraphType n => Unwrap(n.ResolvedType!),
        ListGraphType l => Unwrap(l.ResolvedType!),
        _ => type,
    };

    private static string TypeName(IGraphType type) => type switch
    {
        NonNullGraphType n => TypeName(n.ResolvedType!) + "!",
        ListGraphType l => "[" + TypeName(l.ResolvedType!) + "]",
        _ => type.Name,
    };
}
