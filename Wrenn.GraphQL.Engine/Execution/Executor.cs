using System.Text.Json;
using System.Text.Json.Nodes;
using Wrenn.GraphQL.Engine.Language;
using Wrenn.GraphQL.Engine.Validation;

namespace Wrenn.GraphQL.Engine.Execution;

public sealed record GraphQLRequest(string Query, string? OperationName = null, IReadOnlyDictionary<string, object?>? Variables = null);

public sealed record ExecutionError(string Message, IReadOnlyList<Location> Locations, IReadOnlyList<object>? Path, IReadOnlyDictionary<string, object?>? Extensions);

/// <summary>The response of spec 7.1: data (absent when execution did not start) and errors.</summary>
public sealed record ExecutionResult(JsonObject? Data, IReadOnlyList<ExecutionError> Errors, bool HasData)
{
    // Clients read UTF-8 JSON; escaping '<' or non-ASCII as \uXXXX only makes messages harder to read.
    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public string ToJson()
    {
        var root = new JsonObject();
        if (Errors.Count > 0)
        {
            var errs = new JsonArray();
            foreach (ExecutionError e in Errors)
            {
                var o = new JsonObject { ["message"] = e.Message };
                if (e.Locations.Count > 0)
                    o["locations"] = new JsonArray(e.Locations.Select(l => (JsonNode)new JsonObject { ["line"] = l.Line, ["column"] = l.Column }).ToArray());
                if (e.Path is { } p)
                    o["path"] = new JsonArray(p.Select(s => s is int i ? JsonValue.Create(i) : (JsonNode)JsonValue.Create((string)s)!).ToArray());
                if (e.Extensions is { } x)
                    o["extensions"] = JsonSerializer.SerializeToNode(x);
                errs.Add(o);
            }
            root["errors"] = errs;
        }
        if (HasData) root["data"] = Data?.DeepClone();
        return root.ToJsonString(JsonOptions);
    }
}

/// <summary>
/// Executes a request per spec section 6: query fields resolved in parallel, mutation fields in
/// series, null propagated to the nearest nullable parent, each field error located with its path.
/// </summary>
public sealed class Executor(ExecutionLimits? limits = null)
{
    private readonly ExecutionLimits _limits = limits ?? ExecutionLimits.Default;

    private sealed class PropagateNull : Exception;

    private sealed record Run(GraphQLSchema Schema, Dictionary<string, FragmentDefinition> Fragments,
        IReadOnlyDictionary<string, object?> Variables, List<ExecutionError> Errors, CancellationToken Ct);

    public async Task<ExecutionResult> ExecuteAsync(GraphQLSchema schema, GraphQLRequest request, CancellationToken cancellationToken = default)
    {
        Document doc;
        try { doc = Parser.Parse(request.Query, _limits.Parser); }
        catch (GraphQLSyntaxException ex)
        {
            return new ExecutionResult(null, [new ExecutionError(ex.Message, [ex.Location], null, null)], false);
        }
        if (_limits.Check(doc) is { } overLimit)
            return new ExecutionResult(null, [new ExecutionError(overLimit, [], null, null)], false);
        var invalid = DocumentRules.Validate(doc);
        if (invalid.Count > 0)
            return new ExecutionResult(null, invalid.Select(e => new ExecutionError(e.Message, e.Locations, null, null)).ToList(), false);

        var ops = doc.Definitions.OfType<OperationDefinition>().ToList();
        OperationDefinition? op = request.OperationName is null
            ? (ops.Count == 1 ? ops[0] : null)
            : ops.FirstOrDefault(o => o.Name == request.OperationName);
        if (op is null)
        {
            string msg = request.OperationName is null ? "Must provide operation name if query contains multiple operations." : $"Unknown operation named \"{request.OperationName}\".";
            return new ExecutionResult(null, [new ExecutionError(msg, [], null, null)], false);
        }
        ObjectType? root = op.Operation switch
        {
            OperationType.Query => schema.Query,
            OperationType.Mutation => schema.Mutation,
            _ => null,
        };
        if (root is null)
            return new ExecutionResult(null, [new ExecutionError($"Schema is not configured to execute {op.Operation.ToString().ToLowerInvariant()} operation.", [op.Location], null, null)], false);

        var run = new Run(schema, doc.Definitions.OfType<FragmentDefinition>().ToDictionary(f => f.Name),
            request.Variables ?? new Dictionary<string, object?>(), [], cancellationToken);
        JsonObject? data;
        try { data = await ExecuteSelectionSetAsync(run, op.SelectionSet, root, null, [], serial: op.Operation == OperationType.Mutation); }
        catch (PropagateNull) { data = null; }
        return new ExecutionResult(data, run.Errors, true);
    }

    private async Task<JsonObject> ExecuteSelectionSetAsync(Run run, SelectionSet set, ObjectType type, object? source, IReadOnlyList<object> path, bool serial)
    {
        var fields = new Dictionary<string, List<Field>>();
        CollectFields(run, type, set, fields, []);
        var keys = fields.Keys.ToList();
        var values = new JsonNode?[keys.Count];
        if (serial)
        {
            for (int i = 0; i < keys.Count; i++)
                values[i] = await ExecuteFieldAsync(run, type, source, fields[keys[i]], [.. path, keys[i]]);
        }
        else
        {
            var tasks = new Task<JsonNode?>[keys.Count];
            for (int i = 0; i < keys.Count; i++) tasks[i] = ExecuteFieldAsync(run, type, source, fields[keys[i]], [.. path, keys[i]]);
            try { await Task.WhenAll(tasks); } catch (PropagateNull) { }
            for (int i = 0; i < keys.Count; i++)
            {
                if (tasks[i].IsFaulted) throw new PropagateNull();
                values[i] = tasks[i].Result;
            }
        }
        var obj = new JsonObject();
        for (int i = 0; i < keys.Count; i++) obj[keys[i]] = values[i];
        return obj;
    }

    // CollectFields (spec 6.3.2): @skip/@include, each fragment once, grouped by response key in order.
    private void CollectFields(Run run, ObjectType type, SelectionSet set, Dictionary<string, List<Field>> fields, HashSet<string> visited)
    {
        foreach (Selection sel in set.Selections)
        {
            if (!ShouldInclude(run, sel.Directives)) continue;
            switch (sel)
            {
                case Field f:
                    if (!fields.TryGetValue(f.ResponseKey, out var list)) fields[f.ResponseKey] = list = [];
                    list.Add(f);
                    break;
                case FragmentSpread fs:
                    if (!visited.Add(fs.Name) || !run.Fragments.TryGetValue(fs.Name, out var frag)) continue;
                    if (!DoesFragmentTypeApply(run, type, frag.TypeCondition.Name)) continue;
                    CollectFields(run, type, frag.SelectionSet, fields, visited);
                    break;
                case InlineFragment inl:
                    if (inl.TypeCondition is { } tc && !DoesFragmentTypeApply(run, type, tc.Name)) continue;
                    CollectFields(run, type, inl.SelectionSet, fields, visited);
                    break;
            }
        }
    }

    private static bool DoesFragmentTypeApply(Run run, ObjectType type, string condition) =>
        condition == type.Name
        || type.Interfaces.Any(i => i.Name == condition)
        || run.Schema.Unions.Any(u => u.Name == condition && u.IsPossibleType(type));

    private static bool ShouldInclude(Run run, IReadOnlyList<Directive> directives)
    {
        foreach (Directive d in directives)
        {
            if (d.Name is not ("skip" or "include")) continue;
            var arg = d.Arguments.FirstOrDefault(a => a.Name == "if");
            bool value = arg is not null && LiteralToObject(arg.Value, run.Variables) is true;
            if (d.Name == "skip" && value) return false;
            if (d.Name == "include" && !value) return false;
        }
        return true;
    }

    private async Task<JsonNode?> ExecuteFieldAsync(Run run, ObjectType type, object? source, List<Field> nodes, IReadOnlyList<object> path)
    {
        Field field = nodes[0];
        if (field.Name == "__typename") return JsonValue.Create(type.Name);
        if (!type.Fields.TryGetValue(field.Name, out var def))
        {
            // Schema-aware validation (FieldsOnCorrectType) is not built yet; refuse the field here instead.
            lock (run.Errors) run.Errors.Add(new ExecutionError($"Cannot query field \"{field.Name}\" on type \"{type.Name}\".", [field.Location], path, null));
            return null;
        }
        try
        {
            var args = new Dictionary<string, object?>();
            foreach (Argument a in field.Arguments) args[a.Name] = LiteralToObject(a.Value, run.Variables);
            object? value = await def.Resolve(new ResolveContext(source, args, run.Ct));
            return await CompleteValueAsync(run, def.Type, nodes, value, path, $"{type.Name}.{field.Name}");
        }
        catch (PropagateNull) when (def.Type is not NonNullType) { return null; }
        catch (Exception ex) when (ex is not PropagateNull)
        {
            lock (run.Errors) run.Errors.Add(ex is GraphQLRequestException gre
                ? new ExecutionError(gre.Message, [field.Location], path, gre.Extensions)
                : new ExecutionError("Unexpected error.", [field.Location], path, null));
            if (def.Type is NonNullType) throw new PropagateNull();
            return null;
        }
    }

    private async Task<JsonNode?> CompleteValueAsync(Run run, GraphQLType type, List<Field> nodes, object? value, IReadOnlyList<object> path, string coordinate)
    {
        if (type is NonNullType nn)
        {
            JsonNode? completed = await CompleteValueAsync(run, nn.OfType, nodes, value, path, coordinate);
            if (completed is null)
            {
                lock (run.Errors)
                    run.Errors.Add(new ExecutionError($"Cannot return null for non-nullable field {coordinate}.", [nodes[0].Location], path, null));
                throw new PropagateNull();
            }
            return completed;
        }
        if (value is null) return null;
        switch (type)
        {
            case ListType lt:
                if (value is not System.Collections.IEnumerable items || value is string)
                    throw new InvalidOperationException("Expected a list from the resolver.");
                var arr = new JsonArray();
                int i = 0;
                foreach (object? item in items)
                {
                    try { arr.Add(await CompleteValueAsync(run, lt.OfType, nodes, item, [.. path, i], coordinate)); }
                    catch (PropagateNull) when (lt.OfType is not NonNullType) { arr.Add(null); }
                    i++;
                }
                return arr;
            case ScalarType st:
                return JsonSerializer.SerializeToNode(st.Serialize(value));
            case EnumType et:
                return JsonValue.Create(et.Serialize(value));
            case AbstractType at:
                ObjectType runtime = at.ResolveType(value);
                if (!at.IsPossibleType(runtime))
                    throw new InvalidOperationException($"Runtime type {runtime.Name} is not a possible type of {at.Name}.");
                return await CompleteValueAsync(run, runtime, nodes, value, path, coordinate);
            case ObjectType ot:
                var sub = new SelectionSet(nodes.SelectMany(n => n.SelectionSet?.Selections ?? []).ToList(), nodes[0].Location);
                return await ExecuteSelectionSetAsync(run, sub, ot, value, path, serial: false);
            default:
                throw new NotSupportedException($"Type {type} is not supported by this executor yet.");
        }
    }

    /// <summary>
    /// Subscribe (spec 6.2.3): the root field's Subscribe gives the source stream; each event is executed
    /// as its own response. Disposing the enumerator (or cancelling) disposes the source.
    /// </summary>
    public async IAsyncEnumerable<ExecutionResult> SubscribeAsync(GraphQLSchema schema, GraphQLRequest request,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Document doc;
        ExecutionError? refusal = null;
        doc = null!;
        try { doc = Parser.Parse(request.Query, _limits.Parser); }
        catch (GraphQLSyntaxException ex) { refusal = new ExecutionError(ex.Message, [ex.Location], null, null); }
        if (refusal is null && _limits.Check(doc) is { } overLimit) refusal = new ExecutionError(overLimit, [], null, null);
        OperationDefinition? op = refusal is null
            ? doc.Definitions.OfType<OperationDefinition>().FirstOrDefault(o => request.OperationName is null || o.Name == request.OperationName)
            : null;
        Field? rootField = op?.SelectionSet.Selections.Count == 1 ? op.SelectionSet.Selections[0] as Field : null;
        FieldDefinition? def = null;
        if (refusal is null && (op is not { Operation: OperationType.Subscription } || schema.Subscription is null || rootField is null
            || !schema.Subscription.Fields.TryGetValue(rootField.Name, out def) || def.Subscribe is null))
            refusal = new ExecutionError("Expected a subscription operation with a single root field that the schema's Subscription type defines.", op is null ? [] : [op.Location], null, null);
        if (refusal is not null)
        {
            yield return new ExecutionResult(null, [refusal], false);
            yield break;
        }
        var variables = request.Variables ?? new Dictionary<string, object?>();
        var args = new Dictionary<string, object?>();
        foreach (Argument a in rootField!.Arguments) args[a.Name] = LiteralToObject(a.Value, variables);
        var fragments = doc.Definitions.OfType<FragmentDefinition>().ToDictionary(f => f.Name);
        await foreach (object? evt in def!.Subscribe!(new ResolveContext(null, args, cancellationToken)).WithCancellation(cancellationToken))
        {
            var run = new Run(schema, fragments, variables, [], cancellationToken);
            JsonObject? data;
            try { data = await ExecuteSelectionSetAsync(run, op!.SelectionSet, schema.Subscription!, evt, [], serial: false); }
            catch (PropagateNull) { data = null; }
            yield return new ExecutionResult(data, run.Errors, true);
        }
    }

    private static object? LiteralToObject(Value value, IReadOnlyDictionary<string, object?> variables) => value switch
    {
        VariableValue v => variables.TryGetValue(v.Name, out var x) ? x : null,
        IntValue i => int.Parse(i.Raw, System.Globalization.CultureInfo.InvariantCulture),
        FloatValue f => double.Parse(f.Raw, System.Globalization.CultureInfo.InvariantCulture),
        StringValue s => s.Text,
        BooleanValue b => b.Is,
        NullValue => null,
        EnumValue e => e.Name,
        ListValue l => l.Items.Select(x => LiteralToObject(x, variables)).ToList(),
        ObjectValue o => o.Fields.ToDictionary(f => f.Name, f => LiteralToObject(f.Value, variables)),
        _ => null,
    };
}
