using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Wrenn.Silo.Tests.Api.Adversarial;

/// <summary>Something the walk found wrong: a field that answered another team, or one it could not aim.</summary>
public sealed record Finding(string Field, string Problem)
{
    public override string ToString() => $"{Field}: {Problem}";
}

/// <summary>What one walk did (each call and its answer, for the test's output) and found.</summary>
public sealed record WalkReport(IReadOnlyList<Finding> Findings, IReadOnlyList<string> Calls, IReadOnlyList<string> NotAimed);

/// <summary>
/// Team B's key aimed at team A's things through every query, mutation and subscription the schema
/// has, as introspection shows it when the walk runs: each argument that names something is filled
/// with A's identifiers of that kind (every one, in turn), the rest with harmless values. A call that
/// names A's things must be refused (NOT_FOUND, FORBIDDEN, null for a nullable field, or a validation
/// error); a cursor of A's may page B's own things; no answer may show any of A's identifiers B did not
/// send. An argument the walk cannot fill is a finding too, so a new field is aimed or fails the walk.
/// </summary>
public sealed class CrossTeamWalk(Uri api, string attackerKey, TeamResources victim)
{
    private static readonly string[] Refusals = ["NOT_FOUND", "FORBIDDEN"];

    /// <summary>Text as sent and answered, unescaped, so that identifiers with any character are found in it.</summary>
    private static readonly JsonSerializerOptions Plain = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly List<Finding> _findings = [];
    private readonly List<string> _calls = [];
    private readonly List<string> _notAimed = [];
    private int _serial;

    public async Task<WalkReport> RunAsync()
    {
        using var http = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromMinutes(5) };
        var introspection = await PostAsync(http, IntrospectedSchema.Document, null);
        var schema = IntrospectedSchema.From(introspection["data"] ?? throw new InvalidOperationException($"introspection failed: {introspection.ToJsonString()}"));
        foreach (var (operation, field) in schema.RootFields())
        {
            var plan = new FieldPlan(schema, field);
            var name = $"{char.ToUpperInvariant(operation[0])}{operation[1..]}.{field.Name}";
            if (plan.Unknown.Count > 0)
            {
                _findings.AddRange(plan.Unknown.Select(why => new Finding(name, $"the walk cannot fill an argument: {why}")));
                continue;
            }
            if (plan.Slots.Count == 0)
            {
                // Nothing to aim; a query is still asked, and must show nothing of A's.
                if (operation == "query")
                    await CallAsync(http, name, operation, field, plan, new Dictionary<string, JsonNode>(), mustRefuse: false);
                else
                    _notAimed.Add(name);
                continue;
            }
            var candidates = plan.Slots.Select(s => (s.Path, Values: victim.Identifiers(s.Kind, s.Scalar))).ToList();
            if (candidates.FirstOrDefault(c => c.Values.Count == 0) is { Path: not null } missing)
            {
                var slot = plan.Slots.First(s => s.Path == missing.Path);
                _findings.Add(new Finding(name, $"argument {slot.Path} names a {slot.Kind} ({slot.Scalar}), and team A has none for the walk to aim at: add a seeder to {nameof(TeamResources)}"));
                continue;
            }
            var mustRefuse = plan.Slots.Any(s => s.IsTarget);
            foreach (var assignment in Assignments(candidates))
                await CallAsync(http, name, operation, field, plan, assignment, mustRefuse);
        }
        return new WalkReport(_findings, _calls, _notAimed);
    }

    /// <summary>Every combination of the victim's identifiers over the reference slots (there are few).</summary>
    private static IEnumerable<Dictionary<string, JsonNode>> Assignments(List<(string Path, IReadOnlyList<JsonNode> Values)> slots)
    {
        IEnumerable<Dictionary<string, JsonNode>> combos = [new Dictionary<string, JsonNode>()];
        foreach (var (path, values) in slots)
            combos = combos.SelectMany(c => values.Select(v => new Dictionary<string, JsonNode>(c) { [path] = v.DeepClone() }));
        return combos;
    }

    private async Task CallAsync(HttpClient http, string name, string operation, FieldDef field, FieldPlan plan, Dictionary<string, JsonNode> assignment, bool mustRefuse)
    {
        var variables = new JsonObject();
        var declarations = new List<string>();
        var arguments = new List<string>();
        foreach (var argument in plan.Arguments)
        {
            var variable = $"a{declarations.Count}";
            declarations.Add($"${variable}: {argument.Type}");
            arguments.Add($"{argument.Name}: ${variable}");
            variables[variable] = plan.Value(argument, assignment, ++_serial);
        }
        var selection = plan.Schema.Selection(field.Type);
        var document = $"{operation} Probe{(declarations.Count > 0 ? $"({string.Join(", ", declarations)})" : "")} {{ {field.Name}{(arguments.Count > 0 ? $"({string.Join(", ", arguments)})" : "")} {selection} }}";
        var sent = variables.ToJsonString(Plain);
        var answer = operation == "subscription" ? await SubscribeAsync(document, variables) : await PostAsync(http, document, variables);
        var text = answer.ToJsonString(Plain);
        _calls.Add($"{name} {sent} -> {Shorten(text)}");

        // Nothing of A's that B did not send may show, whatever the answer.
        foreach (var secret in victim.Secrets.Where(s => !sent.Contains(s, StringComparison.Ordinal) && text.Contains(s, StringComparison.Ordinal)))
            _findings.Add(new Finding(name, $"the answer shows team A's {secret} (sent {sent}): {Shorten(text)}"));
        if (!mustRefuse)
            return;
        if (Verdict(answer, field) is { } problem)
            _findings.Add(new Finding(name, $"{problem} when team B aimed it at team A's {sent}: {Shorten(text)}"));
    }

    /// <summary>Null when the answer refused the call; otherwise what it did instead.</summary>
    private static string? Verdict(JsonObject answer, FieldDef field)
    {
        var errors = answer["errors"] as JsonArray;
        var value = answer["data"]?[field.Name];
        if (errors is { Count: > 0 })
        {
            var codes = errors.Select(e => e?["extensions"]?["code"]?.GetValue<string>()).ToList();
            // Refused by the field itself: a refusal deeper in (one of the thing's own fields asking
            // again, its null carried up to the field) means the field handed the thing out.
            var nested = errors.Any(e => e?["path"] is JsonArray { Count: > 1 });
            if (codes.All(c => c is not null && Refusals.Contains(c)) && !nested)
                return null;
            if (nested)
                return $"it handed the thing out, refused only by its fields: {string.Join("; ", errors.Select(e => e?["path"]?.ToJsonString()).Distinct())}";
            if (codes.All(c => c is null) && value is null)
                return null; // a validation error: refused before anything ran
            return $"it answered {string.Join(", ", codes.Select(c => c ?? "(no code)").Distinct())} instead of NOT_FOUND or FORBIDDEN";
        }
        if (answer["data"] is JsonObject data && data.ContainsKey(field.Name) && value is null && !field.Type.IsNonNull)
            return null; // not found, as a nullable field says it
        // Nothing done and nothing shown, the same answer as for an id that does not exist (a delete
        // that says false, a team-scoped list filtered by another team's id): the state check below
        // still catches a change.
        if (value is JsonValue done && done.TryGetValue<bool>(out var flag) && !flag)
            return null;
        if (value is JsonArray { Count: 0 })
            return null;
        if (answer["silent"] is not null)
            return "it neither refused nor answered within 30 s";
        if (answer["data"] is null && answer["completed"] is not null)
            return null; // the subscription ended without an event
        return "it answered with data";
    }

    private async Task<JsonObject> PostAsync(HttpClient http, string document, JsonObject? variables)
    {
        var body = new JsonObject { ["query"] = document, ["variables"] = variables };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/graphql") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", attackerKey);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return JsonNode.Parse(text) as JsonObject ?? throw new InvalidOperationException($"not a JSON object ({response.StatusCode}): {text}");
    }

    /// <summary>A subscription over graphql-transport-ws: its first event or error (as an HTTP answer would carry it), its end, or silence.</summary>
    private async Task<JsonObject> SubscribeAsync(string document, JsonObject variables)
    {
        await using var ws = await GraphQLWsClient.ConnectAsync(api, attackerKey);
        await ws.SubscribeAsync("probe", document, variables);
        var message = await ws.ReceiveAsync(TimeSpan.FromSeconds(30));
        switch (message?["type"]?.GetValue<string>())
        {
            case "next":
                await ws.CompleteAsync("probe");
                return (message["payload"] as JsonObject)?.DeepClone().AsObject() ?? [];
            case "error":
                return new JsonObject { ["errors"] = message["payload"]?.DeepClone() };
            case "complete":
                return new JsonObject { ["completed"] = true };
            default:
                await ws.CompleteAsync("probe");
                return new JsonObject { ["silent"] = true };
        }
    }

    private static string Shorten(string text) => text.Length <= 400 ? text : text[..400] + "…";

    /// <summary>How one field's arguments are filled: which are sent, which slots name the victim's things, what the walk cannot fill.</summary>
    private sealed class FieldPlan
    {
        public FieldPlan(IntrospectedSchema schema, FieldDef field)
        {
            Schema = schema;
            Field = field;
            foreach (var argument in field.Args)
            {
                var before = Slots.Count + Unknown.Count;
                Walk(argument.Name, argument.Type, argument.Name, 0);
                // Sent when required, or when it names something (an optional reference is aimed too).
                if (argument.IsRequired || Slots.Count + Unknown.Count > before)
                    Arguments.Add(argument);
            }
        }

        public IntrospectedSchema Schema { get; }

        public FieldDef Field { get; }

        public List<InputValue> Arguments { get; } = [];

        public List<(string Path, ResourceKind Kind, string Scalar, bool IsTarget)> Slots { get; } = [];

        public List<string> Unknown { get; } = [];

        /// <summary>Finds the references in an argument (or an input object's fields), by path.</summary>
        private void Walk(string name, TypeRef type, string path, int depth)
        {
            var named = Schema[type.Named.Name!];
            if (named.Kind == "INPUT_OBJECT")
            {
                if (depth > 4)
                    return;
                foreach (var inner in named.InputFields)
                    Walk(inner.Name, inner.Type, $"{path}.{inner.Name}", depth + 1);
                return;
            }
            switch (ArgumentRoles.Of(Field.Name, name, type, nested: depth > 0))
            {
                case ArgumentRole.Target target:
                    Slots.Add((path, target.Kind, named.Name, true));
                    break;
                case ArgumentRole.Cursor cursor:
                    Slots.Add((path, cursor.Kind, named.Name, false));
                    break;
                case ArgumentRole.Unknown unknown:
                    Unknown.Add(unknown.Why);
                    break;
            }
        }

        public JsonNode? Value(InputValue argument, Dictionary<string, JsonNode> assignment, int serial) =>
            Build(argument.Name, argument.Type, argument.Name, assignment, serial, 0);

        private JsonNode? Build(string name, TypeRef type, string path, Dictionary<string, JsonNode> assignment, int serial, int depth)
        {
            if (type.Kind == "NON_NULL")
                return Build(name, type.OfType!, path, assignment, serial, depth);
            if (type.Kind == "LIST")
                return new JsonArray(Build(name, type.OfType!, path, assignment, serial, depth));
            if (assignment.TryGetValue(path, out var reference))
                return reference.DeepClone();
            var named = Schema[type.Name!];
            if (named.Kind != "INPUT_OBJECT")
                return ArgumentRoles.PlainValue(name, named, serial);
            var value = new JsonObject();
            foreach (var inner in named.InputFields)
            {
                var innerPath = $"{path}.{inner.Name}";
                if (inner.IsRequired || assignment.Keys.Any(k => k == innerPath || k.StartsWith(innerPath + ".", StringComparison.Ordinal)))
                    value[inner.Name] = Build(inner.Name, inner.Type, innerPath, assignment, serial, depth + 1);
            }
            return value;
        }
    }
}
