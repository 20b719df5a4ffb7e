using Wrenn.GraphQL.Engine.Language;

namespace Wrenn.GraphQL.Engine.Validation;

/// <summary>
/// The validation rules of spec section 5 that need no schema: executable definitions, operation and
/// fragment name uniqueness, lone anonymous operation, argument/input-field/variable uniqueness,
/// fragment spread targets, fragments used, no spread cycles, all variable uses defined, all variables used.
/// Messages follow graphql-js so that a differential test compares like with like.
/// </summary>
public static class DocumentRules
{
    public static IReadOnlyList<GraphQLError> Validate(Document document)
    {
        var errors = new List<GraphQLError>();
        var fragments = new Dictionary<string, FragmentDefinition>();
        var operations = new List<OperationDefinition>();
        var opNames = new HashSet<string>();

        foreach (Definition def in document.Definitions)
        {
            switch (def)
            {
                case TypeSystemDefinition ts:
                    errors.Add(new($"The \"{ts.Name ?? ts.Keyword}\" definition is not executable.", ts.Location));
                    break;
                case OperationDefinition op:
                    operations.Add(op);
                    if (op.Name is { } n && !opNames.Add(n))
                        errors.Add(new($"There can be only one operation named \"{n}\".", FirstOperation(document, n).Location, op.Location));
                    break;
                case FragmentDefinition f:
                    if (!fragments.TryAdd(f.Name, f))
                        errors.Add(new($"There can be only one fragment named \"{f.Name}\".", fragments[f.Name].Location, f.Location));
                    break;
            }
        }

        if (operations.Count > 1)
            foreach (OperationDefinition op in operations.Where(o => o.Name is null))
                errors.Add(new("This anonymous operation must be the only defined operation.", op.Location));

        // Per-node checks and the spreads each fragment makes, walked once.
        var spreadsOf = new Dictionary<string, List<FragmentSpread>>();
        foreach (Definition def in document.Definitions)
        {
            var spreads = new List<FragmentSpread>();
            switch (def)
            {
                case OperationDefinition op:
                    var varNames = new Dictionary<string, VariableDefinition>();
                    foreach (VariableDefinition v in op.Variables)
                    {
                        if (!varNames.TryAdd(v.Name, v))
                            errors.Add(new($"There can be only one variable named \"${v.Name}\".", varNames[v.Name].Location, v.Location));
                        if (v.DefaultValue is { } dv) CheckValue(dv, errors);
                        CheckDirectives(v.Directives, errors);
                    }
                    CheckDirectives(op.Directives, errors);
                    Walk(op.SelectionSet, spreads, errors);
                    break;
                case FragmentDefinition f:
                    CheckDirectives(f.Directives, errors);
                    Walk(f.SelectionSet, spreads, errors);
                    spreadsOf.TryAdd(f.Name, spreads);
                    break;
            }
            foreach (FragmentSpread s in spreads)
                if (!fragments.ContainsKey(s.Name))
                    errors.Add(new($"Unknown fragment \"{s.Name}\".", s.Location));
        }

        // Fragments must be used: reachable from some operation.
        var used = new HashSet<string>();
        var opFragments = new Dictionary<OperationDefinition, HashSet<string>>();
        foreach (OperationDefinition op in operations)
        {
            var spreads = new List<FragmentSpread>();
            Walk(op.SelectionSet, spreads, null);
            var reach = Reachable(spreads, spreadsOf);
            opFragments[op] = reach;
            used.UnionWith(reach);
        }
        foreach (FragmentDefinition f in fragments.Values)
            if (!used.Contains(f.Name))
                errors.Add(new($"Fragment \"{f.Name}\" is never used.", f.Location));

        DetectCycles(fragments, spreadsOf, errors);

        // Variables: every use defined by the operation, every definition used (through fragments too).
        foreach (OperationDefinition op in operations)
        {
            var uses = new List<VariableValue>();
            CollectVariables(op.Directives, op.SelectionSet, uses);
            foreach (string fname in opFragments[op])
                if (fragments.TryGetValue(fname, out var f)) CollectVariables(f.Directives, f.SelectionSet, uses);
            var defined = op.Variables.Select(v => v.Name).ToHashSet();
            var seen = new HashSet<string>();
            foreach (VariableValue use in uses)
                if (!defined.Contains(use.Name))
                    errors.Add(new(op.Name is { } n
                        ? $"Variable \"${use.Name}\" is not defined by operation \"{n}\"."
                        : $"Variable \"${use.Name}\" is not defined.", use.Location, op.Location));
            var usedNames = uses.Select(u => u.Name).ToHashSet();
            foreach (VariableDefinition v in op.Variables)
                if (!usedNames.Contains(v.Name) && seen.Add(v.Name))
                    errors.Add(new(op.Name is { } n
                        ? $"Variable \"${v.Name}\" is never used in operation \"{n}\"."
                        : $"Variable \"${v.Name}\" is never used.", v.Location));
        }
        return errors;
    }

    private static OperationDefinition FirstOperation(Document d, string name) =>
        d.Definitions.OfType<OperationDefinition>().First(o => o.Name == name);

    private static HashSet<string> Reachable(List<FragmentSpread> start, Dictionary<string, List<FragmentSpread>> spreadsOf)
    {
        var seen = new HashSet<string>();
        var stack = new Stack<string>(start.Select(s => s.Name));
        while (stack.TryPop(out string? name))
            if (seen.Add(name) && spreadsOf.TryGetValue(name, out var next))
                foreach (FragmentSpread s in next) stack.Push(s.Name);
        return seen;
    }

    // Depth-first search with an explicit path, as graphql-js NoFragmentCyclesRule does: each cycle reported once.
    private static void DetectCycles(Dictionary<string, FragmentDefinition> fragments, Dictionary<string, List<FragmentSpread>> spreadsOf, List<GraphQLError> errors)
    {
        var visited = new HashSet<string>();
        var path = new List<FragmentSpread>();
        var pathIndex = new Dictionary<string, int>();

        void Visit(string name)
        {
            if (!visited.Add(name)) return;
            if (!spreadsOf.TryGetValue(name, out var spreads) || spreads.Count == 0) return;
            pathIndex[name] = path.Count;
            foreach (FragmentSpread s in spreads)
            {
                if (!pathIndex.TryGetValue(s.Name, out int cycleStart))
                {
                    path.Add(s);
                    if (fragments.ContainsKey(s.Name)) Visit(s.Name);
                    path.RemoveAt(path.Count - 1);
                }
                else
                {
                    var cycle = path.Skip(cycleStart).ToList();
                    string via = string.Join(", ", cycle.Select(c => $"\"{c.Name}\""));
                    var locs = cycle.Select(c => c.Location).Append(s.Location).ToArray();
                    errors.Add(new($"Cannot spread fragment \"{s.Name}\" within itself" + (cycle.Count > 0 ? $" via {via}." : "."), locs));
                }
            }
            pathIndex.Remove(name);
        }

        foreach (string name in fragments.Keys) Visit(name);
    }

    private static void Walk(SelectionSet set, List<FragmentSpread> spreads, List<GraphQLError>? errors)
    {
        foreach (Selection sel in set.Selections)
        {
            if (errors is not null) CheckDirectives(sel.Directives, errors);
            switch (sel)
            {
                case Field f:
                    if (errors is not null) CheckArguments(f.Arguments, errors);
                    if (f.SelectionSet is { } s) Walk(s, spreads, errors);
                    break;
                case FragmentSpread fs: spreads.Add(fs); break;
                case InlineFragment inl: Walk(inl.SelectionSet, spreads, errors); break;
            }
        }
    }

    private static void CheckDirectives(IReadOnlyList<Directive> directives, List<GraphQLError> errors)
    {
        foreach (Directive d in directives) CheckArguments(d.Arguments, errors);
    }

    private static void CheckArguments(IReadOnlyList<Argument> args, List<GraphQLError> errors)
    {
        for (int i = 0; i < args.Count; i++)
        {
            for (int j = 0; j < i; j++)
                if (args[j].Name == args[i].Name)
                {
                    errors.Add(new($"There can be only one argument named \"{args[i].Name}\".", args[j].Location, args[i].Location));
                    break;
                }
            CheckValue(args[i].Value, errors);
        }
    }

    private static void CheckValue(Value value, List<GraphQLError> errors)
    {
        switch (value)
        {
            case ListValue l: foreach (Value v in l.Items) CheckValue(v, errors); break;
            case ObjectValue o:
                for (int i = 0; i < o.Fields.Count; i++)
                {
                    for (int j = 0; j < i; j++)
                        if (o.Fields[j].Name == o.Fields[i].Name)
                        {
                            errors.Add(new($"There can be only one input field named \"{o.Fields[i].Name}\".", o.Fields[j].Location, o.Fields[i].Location));
                            break;
                        }
                    CheckValue(o.Fields[i].Value, errors);
                }
                break;
        }
    }

    private static void CollectVariables(IReadOnlyList<Directive> directives, SelectionSet set, List<VariableValue> uses)
    {
        foreach (Directive d in directives) foreach (Argument a in d.Arguments) CollectVariables(a.Value, uses);
        foreach (Selection sel in set.Selections)
        {
            switch (sel)
            {
                case Field f:
                    foreach (Argument a in f.Arguments) CollectVariables(a.Value, uses);
                    CollectVariables(f.Directives, f.SelectionSet ?? Empty, uses);
                    break;
                case FragmentSpread fs:
                    foreach (Directive d in fs.Directives) foreach (Argument a in d.Arguments) CollectVariables(a.Value, uses);
                    break;
                case InlineFragment inl: CollectVariables(inl.Directives, inl.SelectionSet, uses); break;
            }
        }
    }

    private static readonly SelectionSet Empty = new([], default);

    private static void CollectVariables(Value value, List<VariableValue> uses)
    {
        switch (value)
        {
            case VariableValue v: uses.Add(v); break;
            case ListValue l: foreach (Value item in l.Items) CollectVariables(item, uses); break;
            case ObjectValue o: foreach (ObjectField f in o.Fields) CollectVariables(f.Value, uses); break;
        }
    }
}
