using System.Text.Json;
using System.Text.Json.Nodes;
using Wrenn.GraphQL.Engine.Language;
using Wrenn.GraphQL.Engine.Validation;

namespace Wrenn.GraphQL.Engine.Execution;

/// <param name="Variables">Values as plain CLR values or JSON elements (as an HTTP body carries them); coerced per the operation's variable definitions.</param>
public sealed record GraphQLRequest(string Query, string? OperationName = null, IReadOnlyDictionary<string, object?>? Variables = null)
{
    /// <summary>Request-wide state every resolver sees as <see cref="ResolveContext.Context"/> (e.g. the authenticated caller).</summary>
    public object? Context { get; init; }
}

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
        IReadOnlyDictionary<string, object?> Variables, List<ExecutionError> Errors, object? Context, CancellationToken Ct);

    /// <summary>Parses, applies limits and validates (all of spec section 5); the errors or the document.</summary>
    private (Document? Document, ExecutionResult? Refusal) Prepare(GraphQLSchema schema, GraphQLRequest request)
    {
        Document doc;
        try { doc = Parser.Parse(request.Query, _limits.Parser); }
        catch (GraphQLSyntaxException ex)
        {
            return (null, new ExecutionResult(null, [new ExecutionError(ex.Message, [ex.Location], null, null)], false));
        }
        if (_limits.Check(doc) is { } overLimit)
            return (null, new ExecutionResult(null, [new ExecutionError(overLimit, [], null, null)], false));
        var invalid = DocumentRules.Validate(doc).Concat(SchemaRules.Validate(schema, doc)).ToList();
        if (invalid.Count > 0)
            return (null, new ExecutionResult(null, invalid.Select(e => new ExecutionError(e.Message, e.Locations, null, null)).ToList(), false));
        return (doc, null);
    }

    private static (OperationDefinition? Operation, ExecutionResult? Refusal) SelectOperation(Document doc, string? operationName)
    {
        var ops = doc.Definitions.OfType<OperationDefinition>().ToList();
        OperationDefinition? op = operationName is null
            ? (ops.Count == 1 ? ops[0] : null)
            : ops.FirstOrDefault(o => o.Name == operationName);
        if (op is not null)
            return (op, null);
        string msg = operationName is null ? "Must provide operation name if query contains multiple operations." : $"Unknown operation named \"{operationName}\".";
        return (null, new ExecutionResult(null, [new ExecutionError(msg, [], null, null)], false));
    }

    private (Dictionary<string, object?>? Variables, ExecutionResult? Refusal) Variables(GraphQLSchema schema, OperationDefinition op, GraphQLRequest request)
    {
        if (_limits.CheckVariables(request.Variables) is { } overLimit)
            return (null, new ExecutionResult(null, [new ExecutionError(overLimit, [], null, null)], false));
        var (values, errors) = Coercion.CoerceVariables(schema, op, request.Variables);
        return errors.Count == 0
            ? (values, null)
            : (null, new ExecutionResult(null, errors.Select(e => new ExecutionError(e.Message, [e.Location], null, null)).ToList(), false));
    }

    public async Task<ExecutionResult> ExecuteAsync(GraphQLSchema schema, GraphQLRequest request, CancellationToken cancellationToken = default)
    {
        var (doc, refusal) = Prepare(schema, request);
        if (refusal is not null)
            return refusal;
        var (op, noOperation) = SelectOperation(doc!, request.OperationName);
        if (noOperation is not null)
            return noOperation;
        ObjectType? root = op!.Operation switch
        {
            OperationType.Query => schema.Query,
            OperationType.Mutation => schema.Mutation,
            _ => null,
        };
        if (root is null)
            return new ExecutionResult(null, [new ExecutionError($"Schema is not configured to execute {op.Operation.ToString().ToLowerInvariant()} operation.", [op.Location], null, null)], false);

        var (variables, badVariables) = Variables(schema, op, request);
        if (badVariables is not null)
            return badVariables;
        var run = new Run(schema, doc!.Definitions.OfType<FragmentDefinition>().ToDictionary(f => f.Name),
            variables!, [], request.Context, cancellationToken);
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
            // Fields start in order; a field whose null already propagated (it completed synchronously)
            // stops the rest from starting, as in graphql-js, so their errors are not reported.
            var tasks = new List<Task<JsonNode?>>(keys.Count);
            for (int i = 0; i < keys.Count; i++)
            {
                var task = ExecuteFieldAsync(run, type, source, fields[keys[i]], [.. path, keys[i]]);
                tasks.Add(task);
                if (task.IsFaulted) break;
            }
            try { await Task.WhenAll(tasks); } catch (PropagateNull) { }
            if (tasks.Count < keys.Count || tasks.Any(t => t.IsFaulted)) throw new PropagateNull();
            for (int i = 0; i < keys.Count; i++) values[i] = tasks[i].Result;
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

    private static bool DoesFragmentTypeApply(Run run, ObjectType type, string condition) => run.Schema.Type(condition) switch
    {
        ObjectType o => o == type,
        AbstractType a => a.IsPossibleType(type),
        _ => false,
    };

    private static bool ShouldInclude(Run run, IReadOnlyList<Directive> directives)
    {
        foreach (Directive d in directives)
        {
            if (d.Name is not ("skip" or "include")) continue;
            var arg = d.Arguments.FirstOrDefault(a => a.Name == "if");
            bool value = arg is not null && Coercion.CoerceLiteral(ScalarType.Boolean.NonNull(), arg.Value, run.Variables) is true;
            if (d.Name == "skip" && value) return false;
            if (d.Name == "include" && !value) return false;
        }
        return true;
    }

    private async Task<JsonNode?> ExecuteFieldAsync(Run run, ObjectType type, object? source, List<Field> nodes, IReadOnlyList<object> path)
    {
        Field field = nodes[0];
        if (field.Name == "__typename") return JsonValue.Create(type.Name);
        FieldDefinition? def = field.Name switch
        {
            "__schema" when type == run.Schema.Query => Introspection.SchemaField,
            "__type" when type == run.Schema.Query => Introspection.TypeField,
            _ => type.Fields.GetValueOrDefault(field.Name),
        };
        if (def is null)
        {
            lock (run.Errors) run.Errors.Add(new ExecutionError($"Cannot query field \"{field.Name}\" on type \"{type.Name}\".", [field.Location], path, null));
            return null;
        }
        try
        {
            var args = Coercion.CoerceArguments(def.Arguments, field.Arguments, run.Variables);
            object? value = await def.Resolve(new ResolveContext(source, args, run.Ct) { Context = run.Context, Schema = run.Schema });
            return await CompleteValueAsync(run, def.Type, nodes, value, path, $"{type.Name}.{field.Name}");
        }
        catch (PropagateNull) when (def.Type is not NonNullType) { return null; }
        catch (Exception ex) when (ex is not PropagateNull)
        {
            lock (run.Errors) run.Errors.Add(ex switch
            {
                GraphQLRequestException gre => new ExecutionError(gre.Message, [field.Location], path, gre.Extensions),
                CoercionException ce => new ExecutionError(ce.Message, [field.Location], path, null),
                _ => new ExecutionError("Unexpected error.", [field.Location], path, null),
            });
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
        var (doc, refusal) = Prepare(schema, request);
        OperationDefinition? op = null;
        if (refusal is null)
            (op, refusal) = SelectOperation(doc!, request.OperationName);
        Dictionary<string, object?>? variables = null;
        if (refusal is null)
            (variables, refusal) = Variables(schema, op!, request);
        Field? rootField = op?.SelectionSet.Selections.Count == 1 ? op.SelectionSet.Selections[0] as Field : null;
        FieldDefinition? def = null;
        if (refusal is null && (op is not { Operation: OperationType.Subscription } || schema.Subscription is null || rootField is null
            || !schema.Subscription.Fields.TryGetValue(rootField.Name, out def) || def.Subscribe is null))
            refusal = new ExecutionResult(null, [new ExecutionError("Expected a subscription operation with a single root field that the schema's Subscription type defines.", op is null ? [] : [op.Location], null, null)], false);
        Dictionary<string, object?>? args = null;
        if (refusal is null)
        {
            try { args = Coercion.CoerceArguments(def!.Arguments, rootField!.Arguments, variables!); }
            catch (CoercionException e) { refusal = new ExecutionResult(null, [new ExecutionError(e.Message, [rootField!.Location], [rootField.ResponseKey], null)], false); }
        }
        if (refusal is not null)
        {
            yield return refusal;
            yield break;
        }
        var fragments = doc!.Definitions.OfType<FragmentDefinition>().ToDictionary(f => f.Name);
        await foreach (object? evt in def!.Subscribe!(new ResolveContext(null, args!, cancellationToken) { Context = request.Context, Schema = schema }).WithCancellation(cancellationToken))
        {
            var run = new Run(schema, fragments, variables!, [], request.Context, cancellationToken);
            JsonObject? data;
            try { data = await ExecuteSelectionSetAsync(run, op!.SelectionSet, schema.Subscription!, evt, [], serial: false); }
            catch (PropagateNull) { data = null; }
            yield return new ExecutionResult(data, run.Errors, true);
        }
    }
}
