using Wrenn.GraphQL.Engine.Execution;
using Wrenn.GraphQL.Engine.Language;

namespace Wrenn.GraphQL.Engine.Validation;

/// <summary>
/// The validation rules of spec section 5 that need the schema (the others are in
/// <see cref="DocumentRules"/>): fields, leaf selections, arguments, types of fragments and
/// variables, values, directives, spreads, variable positions, single subscription fields, and
/// field merging. Messages follow graphql-js.
/// </summary>
public static class SchemaRules
{
    public static IReadOnlyList<GraphQLError> Validate(GraphQLSchema schema, Document document)
    {
        var walker = new Walker(schema, document);
        walker.Run();
        return walker.Errors;
    }

    private sealed class Walker(GraphQLSchema schema, Document document)
    {
        private readonly Dictionary<string, FragmentDefinition> _fragments = document.Definitions.OfType<FragmentDefinition>()
            .GroupBy(f => f.Name).ToDictionary(g => g.Key, g => g.First());

        public List<GraphQLError> Errors { get; } = [];

        private void Error(string message, params Location[] at) => Errors.Add(new GraphQLError(message, at));

        public void Run()
        {
            foreach (var definition in document.Definitions)
            {
                switch (definition)
                {
                    case OperationDefinition op:
                        ValidateOperation(op);
                        break;
                    case FragmentDefinition fragment:
                        var condition = schema.Type(fragment.TypeCondition.Name);
                        if (condition is null)
                            Error($"Unknown type \"{fragment.TypeCondition.Name}\".", fragment.TypeCondition.Location);
                        else if (condition is not FieldsType)
                            Error($"Fragment \"{fragment.Name}\" cannot condition on non composite type \"{condition.Name}\".", fragment.TypeCondition.Location);
                        Directives(fragment.Directives, "FRAGMENT_DEFINITION", null);
                        if (condition is FieldsType composite)
                        {
                            SelectionSet(fragment.SelectionSet, composite, null);
                            MergeCheck(fragment.SelectionSet, composite);
                        }
                        break;
                }
            }
        }

        private Dictionary<string, (GraphQLType? Type, VariableDefinition Definition)>? _variables;

        private void ValidateOperation(OperationDefinition op)
        {
            _variables = [];
            foreach (var variable in op.Variables)
            {
                var type = Coercion.TypeFromRef(schema, variable.Type);
                if (type is null)
                    Error($"Unknown type \"{NamedOf(variable.Type)}\".", NamedLocation(variable.Type));
                else if (!Coercion.IsInputType(type))
                    Error($"Variable \"${variable.Name}\" cannot be non-input type \"{Printer.Print(variable.Type)}\".", variable.Type.Location);
                else if (variable.DefaultValue is { } fallback)
                    Value(fallback, type, allowVariables: false);
                _variables.TryAdd(variable.Name, (type is not null && Coercion.IsInputType(type) ? type : null, variable));
                Directives(variable.Directives, "VARIABLE_DEFINITION", null);
            }
            var root = op.Operation switch
            {
                OperationType.Query => schema.Query,
                OperationType.Mutation => schema.Mutation,
                _ => schema.Subscription,
            };
            Directives(op.Directives, op.Operation.ToString().ToUpperInvariant(), null);
            if (root is null)
            {
                Error($"Schema is not configured to execute {op.Operation.ToString().ToLowerInvariant()} operation.", op.Location);
                return;
            }
            if (op.Operation == OperationType.Subscription)
                SingleRootField(op, root);
            SelectionSet(op.SelectionSet, root, new HashSet<string>());
            MergeCheck(op.SelectionSet, root);
            _variables = null;
        }

        private void SingleRootField(OperationDefinition op, ObjectType root)
        {
            var fields = new List<Field>();
            CollectRootFields(op.SelectionSet, fields, []);
            var name = op.Name is null ? "Anonymous Subscription" : $"Subscription \"{op.Name}\"";
            var keys = fields.Select(f => f.ResponseKey).Distinct().ToList();
            if (keys.Count > 1)
                Error($"{name} must select only one top level field.", fields.Where(f => f.ResponseKey != keys[0]).Select(f => f.Location).ToArray());
            foreach (var f in fields.Where(f => f.Name.StartsWith("__", StringComparison.Ordinal)))
                Error($"{name} must not select an introspection top level field.", f.Location);
        }

        private void CollectRootFields(SelectionSet set, List<Field> fields, HashSet<string> visited)
        {
            foreach (var selection in set.Selections)
            {
                switch (selection)
                {
                    case Field f:
                        fields.Add(f);
                        break;
                    case InlineFragment inline:
                        CollectRootFields(inline.SelectionSet, fields, visited);
                        break;
                    case FragmentSpread spread when visited.Add(spread.Name) && _fragments.TryGetValue(spread.Name, out var fragment):
                        CollectRootFields(fragment.SelectionSet, fields, visited);
                        break;
                }
            }
        }

        /// <summary>Walks a selection set on <paramref name="parent"/>; fragments are followed once per operation to check variable usages.</summary>
        private void SelectionSet(SelectionSet set, FieldsType parent, HashSet<string>? followedFragments)
        {
            foreach (var selection in set.Selections)
            {
                switch (selection)
                {
                    case Field field:
                        FieldSelection(field, parent, followedFragments);
                        break;
                    case InlineFragment inline:
                        Directives(inline.Directives, "INLINE_FRAGMENT", null);
                        var condition = parent as NamedType;
                        if (inline.TypeCondition is { } tc)
                        {
                            condition = schema.Type(tc.Name);
                            if (condition is null)
                            {
                                Error($"Unknown type \"{tc.Name}\".", tc.Location);
                                break;
                            }
                            if (condition is not FieldsType)
                            {
                                Error($"Fragment cannot condition on non composite type \"{condition.Name}\".", tc.Location);
                                break;
                            }
                            if (!Overlap(parent, condition))
                                Error($"Fragment cannot be spread here as objects of type \"{parent.Name}\" can never be of type \"{condition.Name}\".", inline.Location);
                        }
                        SelectionSet(inline.SelectionSet, (FieldsType)condition!, followedFragments);
                        break;
                    case FragmentSpread spread:
                        Directives(spread.Directives, "FRAGMENT_SPREAD", null);
                        if (!_fragments.TryGetValue(spread.Name, out var fragment))
                            break;
                        if (schema.Type(fragment.TypeCondition.Name) is FieldsType target)
                        {
                            if (!Overlap(parent, target))
                                Error($"Fragment \"{spread.Name}\" cannot be spread here as objects of type \"{parent.Name}\" can never be of type \"{target.Name}\".", spread.Location);
                            // Variable usages inside fragments are checked in the context of each operation.
                            if (followedFragments is not null && followedFragments.Add(spread.Name))
                                VariableUsagesIn(fragment.SelectionSet, target, followedFragments);
                        }
                        break;
                }
            }
        }

        /// <summary>Checks only variable positions inside a fragment reached from an operation (the rest is checked once at the fragment).</summary>
        private void VariableUsagesIn(SelectionSet set, FieldsType parent, HashSet<string> followed)
        {
            var errorsBefore = Errors.Count;
            SelectionSet(set, parent, followed);
            // Keep only variable-position errors; the fragment's own walk reports everything else once.
            for (var i = Errors.Count - 1; i >= errorsBefore; i--)
            {
                if (!Errors[i].Message.StartsWith("Variable \"$", StringComparison.Ordinal))
                    Errors.RemoveAt(i);
            }
        }

        private void FieldSelection(Field field, FieldsType parent, HashSet<string>? followedFragments)
        {
            Directives(field.Directives, "FIELD", followedFragments);
            FieldDefinition? definition = field.Name switch
            {
                "__typename" => Introspection.TypeNameField,
                "__schema" when parent == schema.Query => Introspection.SchemaField,
                "__type" when parent == schema.Query => Introspection.TypeField,
                _ => parent is UnionType ? null : parent.Fields.GetValueOrDefault(field.Name),
            };
            if (definition is null)
            {
                Error($"Cannot query field \"{field.Name}\" on type \"{parent.Name}\".", field.Location);
                return;
            }
            Arguments(field.Arguments, definition.Arguments, $"field \"{parent.Name}.{field.Name}\"", field.Location, $"Field \"{field.Name}\"");
            var named = definition.Type.Named;
            if (named is FieldsType composite)
            {
                if (field.SelectionSet is null)
                    Error($"Field \"{field.Name}\" of type \"{definition.Type}\" must have a selection of subfields. Did you mean \"{field.Name} {{ ... }}\"?", field.Location);
                else
                    SelectionSet(field.SelectionSet, composite, followedFragments);
            }
            else if (field.SelectionSet is not null)
            {
                Error($"Field \"{field.Name}\" must not have a selection since type \"{definition.Type}\" has no subfields.", field.SelectionSet.Location);
            }
        }

        private void Arguments(IReadOnlyList<Argument> given, IReadOnlyList<InputValue> defined, string owner, Location at, string requiredOwner)
        {
            foreach (var argument in given)
            {
                var definition = defined.FirstOrDefault(d => d.Name == argument.Name);
                if (definition is null)
                    Error($"Unknown argument \"{argument.Name}\" on {owner}.", argument.Location);
                else
                    Value(argument.Value, definition.Type, allowVariables: true, definition.HasDefault);
            }
            foreach (var definition in defined.Where(d => d.Type is NonNullType && !d.HasDefault))
            {
                if (given.All(a => a.Name != definition.Name))
                    Error($"{requiredOwner} argument \"{definition.Name}\" of type \"{definition.Type}\" is required, but it was not provided.", at);
            }
        }

        private void Directives(IReadOnlyList<Directive> directives, string location, HashSet<string>? followedFragments)
        {
            var seen = new HashSet<string>();
            foreach (var directive in directives)
            {
                var definition = schema.Directives.FirstOrDefault(d => d.Name == directive.Name);
                if (definition is null)
                {
                    Error($"Unknown directive \"@{directive.Name}\".", directive.Location);
                    continue;
                }
                if (!definition.Locations.Contains(location))
                    Error($"Directive \"@{directive.Name}\" may not be used on {location}.", directive.Location);
                if (!definition.IsRepeatable && !seen.Add(directive.Name))
                    Error($"The directive \"@{directive.Name}\" can only be used once at this location.", directives.First(d => d.Name == directive.Name).Location, directive.Location);
                Arguments(directive.Arguments, definition.Arguments, $"directive \"@{directive.Name}\"", directive.Location, $"Directive \"@{directive.Name}\"");
            }
        }

        /// <summary>ValuesOfCorrectType, and VariablesInAllowedPosition for variables inside the value.</summary>
        private void Value(Value value, GraphQLType type, bool allowVariables, bool locationHasDefault = false)
        {
            if (value is VariableValue variable)
            {
                if (allowVariables && _variables is not null && _variables.TryGetValue(variable.Name, out var declared) && declared.Type is { } variableType)
                {
                    var hasDefault = declared.Definition.DefaultValue is not null and not NullValue;
                    var effective = type is NonNullType && variableType is not NonNullType && (hasDefault || locationHasDefault) ? type : null;
                    if (effective is null && !IsSubType(variableType, type))
                        Error($"Variable \"${variable.Name}\" of type \"{variableType}\" used in position expecting type \"{type}\".", declared.Definition.Location, variable.Location);
                }
                return;
            }
            if (type is NonNullType nn)
            {
                if (value is NullValue)
                {
                    Error($"Expected value of type \"{type}\", found null.", value.Location);
                    return;
                }
                Value(value, nn.OfType, allowVariables);
                return;
            }
            if (value is NullValue)
                return;
            switch (type)
            {
                case ListType list:
                    if (value is ListValue items)
                    {
                        foreach (var item in items.Items)
                            Value(item, list.OfType, allowVariables);
                    }
                    else
                    {
                        Value(value, list.OfType, allowVariables);
                    }
                    return;
                case InputObjectType input:
                    if (value is not ObjectValue obj)
                    {
                        Error($"Expected value of type \"{input.Name}\", found {Printer.Print(value)}.", value.Location);
                        return;
                    }
                    foreach (var field in obj.Fields)
                    {
                        if (input.Fields.TryGetValue(field.Name, out var definition))
                            Value(field.Value, definition.Type, allowVariables, definition.HasDefault);
                        else
                            Error($"Field \"{field.Name}\" is not defined by type \"{input.Name}\".", field.Location);
                    }
                    foreach (var definition in input.Fields.Values.Where(f => f.Type is NonNullType && !f.HasDefault))
                    {
                        if (obj.Fields.All(f => f.Name != definition.Name))
                            Error($"Field \"{input.Name}.{definition.Name}\" of required type \"{definition.Type}\" was not provided.", value.Location);
                    }
                    return;
                default:
                    try
                    {
                        Coercion.CoerceLiteral(type, value, new Dictionary<string, object?>());
                    }
                    catch (CoercionException e)
                    {
                        Error(type is EnumType && value is not EnumValue
                            ? $"Enum \"{type.Named.Name}\" cannot represent non-enum value: {Printer.Print(value)}."
                            : e.Message, value.Location);
                    }
                    return;
            }
        }

        /// <summary>Whether a value of <paramref name="sub"/> may be used where <paramref name="super"/> is expected (variables).</summary>
        private static bool IsSubType(GraphQLType sub, GraphQLType super) => (sub, super) switch
        {
            (NonNullType a, NonNullType b) => IsSubType(a.OfType, b.OfType),
            (NonNullType a, _) => IsSubType(a.OfType, super),
            (_, NonNullType) => false,
            (ListType a, ListType b) => IsSubType(a.OfType, b.OfType),
            (ListType, _) or (_, ListType) => false,
            _ => sub.Named == super.Named,
        };

        /// <summary>Whether some object type can be both (PossibleFragmentSpreads).</summary>
        private bool Overlap(NamedType a, NamedType b) =>
            schema.PossibleTypes(a).Intersect(schema.PossibleTypes(b)).Any();

        // ---- OverlappingFieldsCanBeMerged (5.3.2) ----

        private sealed record FieldAndParent(Field Field, FieldsType? Parent, FieldDefinition? Definition);

        private readonly HashSet<(Location, Location)> _reportedConflicts = [];
        private readonly HashSet<SelectionSet> _mergeChecked = new(ReferenceEqualityComparer.Instance);

        private void MergeCheck(SelectionSet set, FieldsType parent)
        {
            // Each selection set once: fragments reached along several paths (or in a cycle) add nothing new.
            if (!_mergeChecked.Add(set))
                return;
            var byKey = new Dictionary<string, List<FieldAndParent>>();
            CollectForMerge(set, parent, byKey, []);
            foreach (var (key, fields) in byKey)
            {
                for (var i = 0; i < fields.Count; i++)
                {
                    for (var j = i + 1; j < fields.Count; j++)
                    {
                        if (Conflict(fields[i], fields[j], parentsMutuallyExclusive: false, depth: 0) is { } reason
                            && _reportedConflicts.Add((fields[i].Field.Location, fields[j].Field.Location)))
                            Error($"Fields \"{key}\" conflict because {reason}. Use different aliases on the fields to fetch both if this was intentional.",
                                fields[i].Field.Location, fields[j].Field.Location);
                    }
                }
            }
            // Nested selection sets are checked on their own too (their conflicts are independent of the parent's).
            foreach (var fields in byKey.Values)
            {
                foreach (var f in fields)
                {
                    if (f.Field.SelectionSet is { } sub && f.Definition?.Type.Named is FieldsType composite)
                        MergeCheck(sub, composite);
                }
            }
        }

        private void CollectForMerge(SelectionSet set, FieldsType? parent, Dictionary<string, List<FieldAndParent>> byKey, HashSet<string> visited)
        {
            foreach (var selection in set.Selections)
            {
                switch (selection)
                {
                    case Field f:
                        var definition = f.Name == "__typename" ? Introspection.TypeNameField
                            : parent is null or UnionType ? null : parent.Fields.GetValueOrDefault(f.Name);
                        if (!byKey.TryGetValue(f.ResponseKey, out var list))
                            byKey[f.ResponseKey] = list = [];
                        list.Add(new FieldAndParent(f, parent, definition));
                        break;
                    case InlineFragment inline:
                        CollectForMerge(inline.SelectionSet, inline.TypeCondition is { } tc ? schema.Type(tc.Name) as FieldsType : parent, byKey, visited);
                        break;
                    case FragmentSpread spread when visited.Add(spread.Name) && _fragments.TryGetValue(spread.Name, out var fragment):
                        CollectForMerge(fragment.SelectionSet, schema.Type(fragment.TypeCondition.Name) as FieldsType, byKey, visited);
                        break;
                }
            }
        }

        private string? Conflict(FieldAndParent a, FieldAndParent b, bool parentsMutuallyExclusive, int depth)
        {
            if (depth > 32)
                return null; // only a fragment cycle (reported by its own rule) nests this deep
            var exclusive = parentsMutuallyExclusive || (a.Parent != b.Parent && a.Parent is ObjectType && b.Parent is ObjectType);
            if (!exclusive)
            {
                if (a.Field.Name != b.Field.Name)
                    return $"\"{a.Field.Name}\" and \"{b.Field.Name}\" are different fields";
                if (!SameArguments(a.Field.Arguments, b.Field.Arguments))
                    return "they have differing arguments";
            }
            if (a.Definition is not null && b.Definition is not null && ConflictingTypes(a.Definition.Type, b.Definition.Type))
                return $"they return conflicting types \"{a.Definition.Type}\" and \"{b.Definition.Type}\"";
            if (a.Field.SelectionSet is not null && b.Field.SelectionSet is not null)
            {
                var sub = new Dictionary<string, List<FieldAndParent>>();
                CollectForMerge(a.Field.SelectionSet, a.Definition?.Type.Named as FieldsType, sub, []);
                var fromA = sub.ToDictionary(kv => kv.Key, kv => kv.Value.Count);
                CollectForMerge(b.Field.SelectionSet, b.Definition?.Type.Named as FieldsType, sub, []);
                var reasons = new List<string>();
                foreach (var (key, fields) in sub)
                {
                    var splitAt = fromA.GetValueOrDefault(key);
                    for (var i = 0; i < splitAt; i++)
                    {
                        for (var j = splitAt; j < fields.Count; j++)
                        {
                            if (Conflict(fields[i], fields[j], exclusive, depth + 1) is { } reason)
                            {
                                reasons.Add($"subfields \"{key}\" conflict because {reason}");
                                goto nextKey;
                            }
                        }
                    }
                nextKey:;
                }
                if (reasons.Count > 0)
                    return string.Join(" and ", reasons);
            }
            return null;
        }

        private static bool ConflictingTypes(GraphQLType a, GraphQLType b) => (a, b) switch
        {
            (ListType x, ListType y) => ConflictingTypes(x.OfType, y.OfType),
            (ListType, _) or (_, ListType) => true,
            (NonNullType x, NonNullType y) => ConflictingTypes(x.OfType, y.OfType),
            (NonNullType, _) or (_, NonNullType) => true,
            _ when a.Named is ScalarType or EnumType || b.Named is ScalarType or EnumType => a.Named != b.Named,
            _ => false,
        };

        private static bool SameArguments(IReadOnlyList<Argument> a, IReadOnlyList<Argument> b) =>
            a.Count == b.Count && a.All(x => b.FirstOrDefault(y => y.Name == x.Name) is { } match && Printer.Print(match.Value) == Printer.Print(x.Value));

        private static string NamedOf(TypeRef type) => type switch
        {
            NamedTypeRef n => n.Name,
            ListTypeRef l => NamedOf(l.OfType),
            NonNullTypeRef nn => NamedOf(nn.OfType),
            _ => "",
        };

        private static Location NamedLocation(TypeRef type) => type switch
        {
            ListTypeRef l => NamedLocation(l.OfType),
            NonNullTypeRef nn => NamedLocation(nn.OfType),
            _ => type.Location,
        };
    }
}
