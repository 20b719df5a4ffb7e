using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Wrenn.Firecracker.Tests.Api;

/// <summary>
/// Firecracker's published API (its swagger file, named by WRENN_FIRECRACKER_SWAGGER; .ci/run sets it
/// when ../shared/firecracker/firecracker.yaml is at hand) as rules a request must follow: the path and method
/// exist, the body has every required property, no unknown ones, and the right types and enum values.
/// Read with a small reader for the YAML this file uses (no YAML package restores here).
/// </summary>
public sealed partial class SwaggerContract
{
    private readonly Dictionary<string, object?> _definitions;
    private readonly List<(Regex Path, string Template, Dictionary<string, object?> Methods)> _paths = [];

    private SwaggerContract(Dictionary<string, object?> root)
    {
        _definitions = (Dictionary<string, object?>)root["definitions"]!;
        foreach (var (template, methods) in (Dictionary<string, object?>)root["paths"]!)
        {
            var pattern = "^" + Regex.Replace(Regex.Escape(template), @"\\\{[a-z_]+}", "[^/]+") + "$";
            _paths.Add((new Regex(pattern), template, (Dictionary<string, object?>)methods!));
        }
    }

    /// <summary>The variable that names the swagger file; a clone of the project alone has no such file.</summary>
    public const string Variable = "WRENN_FIRECRACKER_SWAGGER";

    /// <summary>The swagger file, or null when <see cref="Variable"/> names no file.</summary>
    public static string? Locate() =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } path && File.Exists(path) ? path : null;

    public static SwaggerContract Load(string path) => new((Dictionary<string, object?>)MiniYaml.Parse(File.ReadAllLines(path))!);

    /// <summary>What is wrong with the request; empty when it follows the API.</summary>
    public IReadOnlyList<string> Check(string method, string path, JsonNode? body)
    {
        var route = _paths.FirstOrDefault(p => p.Path.IsMatch(path));
        if (route.Methods is null)
            return [$"{path} is not a path of the API"];
        if (route.Methods.GetValueOrDefault(method.ToLowerInvariant()) is not Dictionary<string, object?> operation)
            return [$"{method} is not allowed on {route.Template}"];
        var bodyParameter = (operation.GetValueOrDefault("parameters") as List<object?> ?? [])
            .OfType<Dictionary<string, object?>>().FirstOrDefault(p => p.GetValueOrDefault("in") as string == "body");
        if (bodyParameter is null)
            return body is null ? [] : [$"{method} {route.Template} takes no body"];
        if (body is null)
            return [$"{method} {route.Template} needs a body"];
        var problems = new List<string>();
        CheckValue(body, (Dictionary<string, object?>)bodyParameter["schema"]!, "body", problems);
        return problems;
    }

    private void CheckValue(JsonNode? value, Dictionary<string, object?> schema, string at, List<string> problems)
    {
        if (schema.GetValueOrDefault("$ref") is string reference)
        {
            schema = (Dictionary<string, object?>)_definitions[reference.Split('/')[^1]]!;
        }
        var type = schema.GetValueOrDefault("type") as string ?? (schema.ContainsKey("properties") ? "object" : null);
        switch (type)
        {
            case "object":
                if (value is not JsonObject obj)
                {
                    problems.Add($"{at} must be an object");
                    return;
                }
                var properties = schema.GetValueOrDefault("properties") as Dictionary<string, object?> ?? [];
                foreach (var required in schema.GetValueOrDefault("required") as List<object?> ?? [])
                {
                    if (!obj.ContainsKey((string)required!))
                        problems.Add($"{at} lacks the required property {required}");
                }
                foreach (var (name, child) in obj)
                {
                    if (properties.GetValueOrDefault(name) is Dictionary<string, object?> propertySchema)
                        CheckValue(child, propertySchema, $"{at}.{name}", problems);
                    else
                        problems.Add($"{at} has the unknown property {name}");
                }
                break;
            case "string":
                if (value is not JsonValue s || !s.TryGetValue<string>(out var text))
                    problems.Add($"{at} must be a string");
                else if (schema.GetValueOrDefault("enum") is List<object?> allowed && !allowed.Contains(text))
                    problems.Add($"{at} is '{text}', not one of {string.Join(", ", allowed)}");
                break;
            case "boolean":
                if (value is not JsonValue b || !b.TryGetValue<bool>(out _))
                    problems.Add($"{at} must be a boolean");
                break;
            case "integer":
                if (value is not JsonValue i || !i.TryGetValue<long>(out var number))
                    problems.Add($"{at} must be an integer");
                else if ((schema.GetValueOrDefault("minimum") is string min && number < long.Parse(min)) || (schema.GetValueOrDefault("maximum") is string max && number > long.Parse(max)))
                    problems.Add($"{at} is {number}, outside its bounds");
                break;
            case "array":
                if (value is not JsonArray items)
                    problems.Add($"{at} must be an array");
                else if (schema.GetValueOrDefault("items") is Dictionary<string, object?> itemSchema)
                    for (var k = 0; k < items.Count; k++)
                        CheckValue(items[k], itemSchema, $"{at}[{k}]", problems);
                break;
        }
    }

    /// <summary>The subset of YAML the swagger file uses: maps, lists, scalars (plain, quoted, folded, continued), inline lists, comments.</summary>
    private static class MiniYaml
    {
        public static object? Parse(string[] lines)
        {
            var meaningful = lines.Select(l => l.TrimEnd()).Where(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith('#')).ToList();
            var at = 0;
            return Block(meaningful, ref at, 0);
        }

        private static int Indent(string line) => line.Length - line.TrimStart().Length;

        private static readonly Regex Key = new(@"^(""[^""]+""|'[^']+'|[^\s:][^:]*?):(?:\s+(.*))?$");

        private static object? Block(List<string> lines, ref int at, int indent)
        {
            if (at >= lines.Count)
                return null;
            if (lines[at].TrimStart().StartsWith("- ", StringComparison.Ordinal) || lines[at].Trim() == "-")
                return List(lines, ref at, Indent(lines[at]));
            var map = new Dictionary<string, object?>();
            while (at < lines.Count && Indent(lines[at]) == indent)
            {
                var match = Key.Match(lines[at].Trim());
                if (!match.Success)
                {
                    at++;
                    continue;
                }
                var key = Unquote(match.Groups[1].Value);
                var inline = match.Groups[2].Success ? match.Groups[2].Value : "";
                at++;
                map[key] = ValueAfterKey(lines, ref at, indent, inline);
            }
            return map;
        }

        private static object? ValueAfterKey(List<string> lines, ref int at, int indent, string inline)
        {
            if (inline is ">-" or ">" or "|" or "|-" || inline.Length > 0)
            {
                // A scalar, possibly continued on more-indented lines.
                var text = inline.StartsWith('>') || inline.StartsWith('|') ? "" : inline;
                while (at < lines.Count && Indent(lines[at]) > indent)
                    text += " " + lines[at++].Trim();
                return Scalar(text.Trim());
            }
            if (at >= lines.Count || Indent(lines[at]) <= indent)
                return null;
            var childIndent = Indent(lines[at]);
            var first = lines[at].Trim();
            if (first.StartsWith("- ", StringComparison.Ordinal) || Key.IsMatch(first))
                return Block(lines, ref at, childIndent);
            var scalar = "";
            while (at < lines.Count && Indent(lines[at]) > indent)
                scalar += " " + lines[at++].Trim();
            return scalar.Trim();
        }

        private static List<object?> List(List<string> lines, ref int at, int indent)
        {
            var list = new List<object?>();
            while (at < lines.Count && Indent(lines[at]) == indent && lines[at].TrimStart().StartsWith('-'))
            {
                var item = lines[at].TrimStart()[1..].TrimStart();
                var itemIndent = indent + (lines[at].TrimStart().Length - item.Length);
                if (Key.IsMatch(item))
                {
                    // A map item: its first key on the dash line, the rest aligned under it.
                    lines[at] = new string(' ', itemIndent) + item;
                    list.Add(Block(lines, ref at, itemIndent));
                }
                else
                {
                    at++;
                    list.Add(Scalar(item));
                }
            }
            return list;
        }

        private static object? Scalar(string text)
        {
            if (text.StartsWith('[') && text.EndsWith(']'))
                return text[1..^1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => (object?)Unquote(s)).ToList();
            return Unquote(text);
        }

        private static string Unquote(string text) =>
            text.Length >= 2 && ((text[0] == '"' && text[^1] == '"') || (text[0] == '\'' && text[^1] == '\'')) ? text[1..^1] : text;
    }
}
