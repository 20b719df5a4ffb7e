using Wrenn.GraphQL.Engine.Language;

namespace Wrenn.GraphQL.Engine.Execution;

/// <summary>
/// The introspection schema (spec 4.2): __Schema, __Type, __Field, __InputValue, __EnumValue,
/// __Directive and their enums, resolved over the code-first schema model. The executor answers
/// <c>__schema</c> and <c>__type(name:)</c> on the query root with these.
/// </summary>
public static class Introspection
{
    private static readonly InputValue IncludeDeprecated = new InputValue("includeDeprecated", ScalarType.Boolean).WithDefault(false);

    public static EnumType TypeKind { get; } = new("__TypeKind", (EnumValueDefinition[])[
        new("SCALAR", "Indicates this type is a scalar."),
        new("OBJECT", "Indicates this type is an object. `fields` and `interfaces` are valid fields."),
        new("INTERFACE", "Indicates this type is an interface. `fields`, `interfaces`, and `possibleTypes` are valid fields."),
        new("UNION", "Indicates this type is a union. `possibleTypes` is a valid field."),
        new("ENUM", "Indicates this type is an enum. `enumValues` is a valid field."),
        new("INPUT_OBJECT", "Indicates this type is an input object. `inputFields` is a valid field."),
        new("LIST", "Indicates this type is a list. `ofType` is a valid field."),
        new("NON_NULL", "Indicates this type is a non-null. `ofType` is a valid field."),
    ]) { Description = "An enum describing what kind of type a given `__Type` is." };

    public static EnumType DirectiveLocation { get; } = new("__DirectiveLocation", (EnumValueDefinition[])[
        new("QUERY", "Location adjacent to a query operation."),
        new("MUTATION", "Location adjacent to a mutation operation."),
        new("SUBSCRIPTION", "Location adjacent to a subscription operation."),
        new("FIELD", "Location adjacent to a field."),
        new("FRAGMENT_DEFINITION", "Location adjacent to a fragment definition."),
        new("FRAGMENT_SPREAD", "Location adjacent to a fragment spread."),
        new("INLINE_FRAGMENT", "Location adjacent to an inline fragment."),
        new("VARIABLE_DEFINITION", "Location adjacent to a variable definition."),
        new("SCHEMA", "Location adjacent to a schema definition."),
        new("SCALAR", "Location adjacent to a scalar definition."),
        new("OBJECT", "Location adjacent to an object type definition."),
        new("FIELD_DEFINITION", "Location adjacent to a field definition."),
        new("ARGUMENT_DEFINITION", "Location adjacent to an argument definition."),
        new("INTERFACE", "Location adjacent to an interface definition."),
        new("UNION", "Location adjacent to a union definition."),
        new("ENUM", "Location adjacent to an enum definition."),
        new("ENUM_VALUE", "Location adjacent to an enum value definition."),
        new("INPUT_OBJECT", "Location adjacent to an input object type definition."),
        new("INPUT_FIELD_DEFINITION", "Location adjacent to an input object field definition."),
    ]) { Description = "A Directive can be adjacent to many parts of the GraphQL language, a __DirectiveLocation describes one such possible adjacencies." };

    public static ObjectType Schema { get; }
    public static ObjectType Type { get; }
    public static ObjectType Field { get; }
    public static ObjectType InputValueType { get; }
    public static ObjectType EnumValue { get; }
    public static ObjectType Directive { get; }

    /// <summary>The introspection types by name.</summary>
    public static IReadOnlyDictionary<string, NamedType> Types { get; }

    /// <summary><c>__schema: __Schema!</c> on the query root.</summary>
    public static FieldDefinition SchemaField { get; }

    /// <summary><c>__type(name: String!): __Type</c> on the query root.</summary>
    public static FieldDefinition TypeField { get; }

    public static FieldDefinition TypeNameField { get; } = new("__typename", ScalarType.String.NonNull(), _ => ValueTask.FromResult<object?>(null))
    { Description = "The name of the current Object type at runtime." };

    static Introspection()
    {
        Schema = new ObjectType("__Schema") { Description = "A GraphQL Schema defines the capabilities of a GraphQL server. It exposes all available types and directives on the server, as well as the entry points for query, mutation, and subscription operations." };
        Type = new ObjectType("__Type") { Description = "The fundamental unit of any GraphQL Schema is the type. There are many kinds of types in GraphQL as represented by the `__TypeKind` enum.\n\nDepending on the kind of a type, certain fields describe information about that type. Scalar types provide no information beyond a name, description and optional `specifiedByURL`, while Enum types provide their values. Object and Interface types provide the fields they describe. Abstract types, Union and Interface, provide the Object types possible at runtime. List and NonNull types compose other types." };
        Field = new ObjectType("__Field") { Description = "Object and Interface types are described by a list of Fields, each of which has a name, potentially a list of arguments, and a return type." };
        InputValueType = new ObjectType("__InputValue") { Description = "Arguments provided to Fields or Directives and the input fields of an InputObject are represented as Input Values which describe their type and optionally a default value." };
        EnumValue = new ObjectType("__EnumValue") { Description = "One possible value for a given Enum. Enum values are unique values, not a placeholder for a string or numeric value. However an Enum value is returned in a JSON response as a string." };
        Directive = new ObjectType("__Directive") { Description = "A Directive provides a way to describe alternate runtime execution and type validation behavior in a GraphQL document.\n\nIn some cases, you need to provide options to alter GraphQL's execution behavior in ways field arguments will not suffice, such as conditionally including or skipping a field. Directives provide this by describing additional information to the executor." };

        static GraphQLSchema SchemaOf(ResolveContext c) => c.Schema!;

        Schema
            .Field("description", ScalarType.String, c => ((GraphQLSchema)c.Source!).Description)
            .Field("types", Type.NonNull().List().NonNull(), [], c => AllTypes((GraphQLSchema)c.Source!), "A list of all types supported by this server.")
            .Field("queryType", Type.NonNull(), [], c => ((GraphQLSchema)c.Source!).Query, "The type that query operations will be rooted at.")
            .Field("mutationType", Type, [], c => ((GraphQLSchema)c.Source!).Mutation, "If this server supports mutation, the type that mutation operations will be rooted at.")
            .Field("subscriptionType", Type, [], c => ((GraphQLSchema)c.Source!).Subscription, "If this server support subscription, the type that subscription operations will be rooted at.")
            .Field("directives", Directive.NonNull().List().NonNull(), [], c => ((GraphQLSchema)c.Source!).Directives, "A list of all directives supported by this server.");

        Type
            .Field("kind", TypeKind.NonNull(), c => KindOf((GraphQLType)c.Source!))
            .Field("name", ScalarType.String, c => (c.Source as NamedType)?.Name)
            .Field("description", ScalarType.String, c => (c.Source as NamedType)?.Description)
            .Field("specifiedByURL", ScalarType.String, c => (c.Source as ScalarType)?.SpecifiedByUrl)
            .Field("fields", Field.NonNull().List(), [IncludeDeprecated], c => c.Source is FieldsType f and not UnionType
                ? f.Fields.Values.Where(x => c.Argument<bool>("includeDeprecated") || x.DeprecationReason is null).ToList()
                : null)
            .Field("interfaces", Type.NonNull().List(), c => c.Source is FieldsType f and not UnionType ? f.Interfaces : null)
            .Field("possibleTypes", Type.NonNull().List(), c => c.Source is AbstractType a ? SchemaOf(c).PossibleTypes(a) : null)
            .Field("enumValues", EnumValue.NonNull().List(), [IncludeDeprecated], c => c.Source is EnumType e
                ? e.Definitions.Where(v => c.Argument<bool>("includeDeprecated") || v.DeprecationReason is null).ToList()
                : null)
            .Field("inputFields", InputValueType.NonNull().List(), [IncludeDeprecated], c => c.Source is InputObjectType io
                ? io.Fields.Values.Where(v => c.Argument<bool>("includeDeprecated") || v.DeprecationReason is null).ToList()
                : null)
            .Field("ofType", Type, c => c.Source switch { ListType l => l.OfType, NonNullType n => n.OfType, _ => null });

        Field
            .Field("name", ScalarType.String.NonNull(), c => ((FieldDefinition)c.Source!).Name)
            .Field("description", ScalarType.String, c => ((FieldDefinition)c.Source!).Description)
            .Field("args", InputValueType.NonNull().List().NonNull(), [IncludeDeprecated], c => ((FieldDefinition)c.Source!).Arguments
                .Where(a => c.Argument<bool>("includeDeprecated") || a.DeprecationReason is null).ToList())
            .Field("type", Type.NonNull(), c => ((FieldDefinition)c.Source!).Type)
            .Field("isDeprecated", ScalarType.Boolean.NonNull(), c => ((FieldDefinition)c.Source!).DeprecationReason is not null)
            .Field("deprecationReason", ScalarType.String, c => ((FieldDefinition)c.Source!).DeprecationReason);

        InputValueType
            .Field("name", ScalarType.String.NonNull(), c => ((InputValue)c.Source!).Name)
            .Field("description", ScalarType.String, c => ((InputValue)c.Source!).Description)
            .Field("type", Type.NonNull(), c => ((InputValue)c.Source!).Type)
            .Field("defaultValue", ScalarType.String, [], c => c.Source is InputValue { HasDefault: true } v ? ValuePrinter.Print(v.DefaultValue, v.Type) : null,
                "A GraphQL-formatted string representing the default value for this input value.")
            .Field("isDeprecated", ScalarType.Boolean.NonNull(), c => ((InputValue)c.Source!).DeprecationReason is not null)
            .Field("deprecationReason", ScalarType.String, c => ((InputValue)c.Source!).DeprecationReason);

        EnumValue
            .Field("name", ScalarType.String.NonNull(), c => ((EnumValueDefinition)c.Source!).Name)
            .Field("description", ScalarType.String, c => ((EnumValueDefinition)c.Source!).Description)
            .Field("isDeprecated", ScalarType.Boolean.NonNull(), c => ((EnumValueDefinition)c.Source!).DeprecationReason is not null)
            .Field("deprecationReason", ScalarType.String, c => ((EnumValueDefinition)c.Source!).DeprecationReason);

        Directive
            .Field("name", ScalarType.String.NonNull(), c => ((DirectiveDefinition)c.Source!).Name)
            .Field("description", ScalarType.String, c => ((DirectiveDefinition)c.Source!).Description)
            .Field("isRepeatable", ScalarType.Boolean.NonNull(), c => ((DirectiveDefinition)c.Source!).IsRepeatable)
            .Field("locations", DirectiveLocation.NonNull().List().NonNull(), c => ((DirectiveDefinition)c.Source!).Locations)
            .Field("args", InputValueType.NonNull().List().NonNull(), [IncludeDeprecated], c => ((DirectiveDefinition)c.Source!).Arguments
                .Where(a => c.Argument<bool>("includeDeprecated") || a.DeprecationReason is null).ToList());

        Types = new Dictionary<string, NamedType>
        {
            [Schema.Name] = Schema, [Directive.Name] = Directive, [DirectiveLocation.Name] = DirectiveLocation, [Type.Name] = Type,
            [Field.Name] = Field, [InputValueType.Name] = InputValueType, [EnumValue.Name] = EnumValue, [TypeKind.Name] = TypeKind,
        };

        SchemaField = new FieldDefinition("__schema", Schema.NonNull(), c => ValueTask.FromResult<object?>(c.Schema))
        { Description = "Access the current type schema of this server." };
        TypeField = new FieldDefinition("__type", Type, c => ValueTask.FromResult<object?>(c.Schema!.Type(c.Argument<string>("name"))))
        { Arguments = [new InputValue("name", ScalarType.String.NonNull())], Description = "Request the type information of a single type." };
    }

    /// <summary>The schema's types followed by the introspection types, as introspection lists them.</summary>
    public static IReadOnlyList<NamedType> AllTypes(GraphQLSchema schema) => [.. schema.Types.Values, .. Types.Values];

    private static string KindOf(GraphQLType type) => type switch
    {
        ScalarType => "SCALAR",
        ObjectType => "OBJECT",
        InterfaceType => "INTERFACE",
        UnionType => "UNION",
        EnumType => "ENUM",
        InputObjectType => "INPUT_OBJECT",
        ListType => "LIST",
        NonNullType => "NON_NULL",
        _ => throw new InvalidOperationException($"Unknown type {type}."),
    };
}

/// <summary>Prints an input value as a GraphQL literal (defaults in introspection and SDL).</summary>
public static class ValuePrinter
{
    public static string Print(object? value, GraphQLType type)
    {
        if (type is NonNullType nn)
            return Print(value, nn.OfType);
        if (value is null)
            return "null";
        switch (type)
        {
            case ListType list:
                return value is System.Collections.IEnumerable items and not string
                    ? "[" + string.Join(", ", items.Cast<object?>().Select(i => Print(i, list.OfType))) + "]"
                    : Print(value, list.OfType);
            case InputObjectType input when value is IDictionary<string, object?> fields:
                return "{" + string.Join(", ", input.Fields.Values.Where(f => fields.ContainsKey(f.Name)).Select(f => $"{f.Name}: {Print(fields[f.Name], f.Type)}")) + "}";
            case EnumType:
                return value.ToString()!;
            default:
                return value switch
                {
                    string s => Printer.QuotedString(s),
                    bool b => b ? "true" : "false",
                    double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                    IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
                    _ => Printer.QuotedString(value.ToString()!),
                };
        }
    }
}
