using System.Globalization;

namespace Wrenn.GraphQL.Engine.Execution;

/// <summary>A type reference in the schema: a named type, or a list/non-null wrapper.</summary>
public abstract class GraphQLType
{
    public ListType List() => new(this);
    public NonNullType NonNull() => new(this);

    /// <summary>The named type under any list and non-null wrappers.</summary>
    public NamedType Named => this switch
    {
        NamedType n => n,
        ListType l => l.OfType.Named,
        NonNullType nn => nn.OfType.Named,
        _ => throw new InvalidOperationException(),
    };
}

public abstract class NamedType(string name) : GraphQLType
{
    public string Name { get; } = name;

    /// <summary>Shown by introspection and in SDL.</summary>
    public string? Description { get; set; }

    public override string ToString() => Name;
}

public sealed class ListType(GraphQLType ofType) : GraphQLType
{
    public GraphQLType OfType { get; } = ofType;
    public override string ToString() => $"[{OfType}]";
}

public sealed class NonNullType(GraphQLType ofType) : GraphQLType
{
    public GraphQLType OfType { get; } = ofType is NonNullType ? throw new ArgumentException("A non-null type cannot wrap a non-null type.", nameof(ofType)) : ofType;
    public override string ToString() => $"{OfType}!";
}

/// <summary>Raised by a scalar's input parser: the message says what was wrong with the value.</summary>
public sealed class InputCoercionException(string message) : Exception(message);

/// <summary>
/// A leaf type. Serialize turns a resolver's value into a JSON-ready value (or throws); ParseValue
/// turns an input value (a variable's JSON value as string, long, double, bool) into what resolvers
/// get, or throws <see cref="InputCoercionException"/>.
/// </summary>
public sealed class ScalarType : NamedType
{
    private readonly Func<object, object> _serialize;
    private readonly Func<object, object> _parse;

    public ScalarType(string name, Func<object, object> serialize, Func<object, object>? parseValue = null, string? specifiedByUrl = null)
        : base(name)
    {
        _serialize = serialize;
        _parse = parseValue ?? (v => v is string s ? s : throw new InputCoercionException($"{name} cannot represent a non-string value: {Printed(v)}"));
        SpecifiedByUrl = specifiedByUrl;
    }

    public string? SpecifiedByUrl { get; }

    public object Serialize(object value) => _serialize(value);

    public object ParseValue(object value) => _parse(value);

    public static string Printed(object? v) => v switch
    {
        null => "null",
        string s => System.Text.Json.JsonSerializer.Serialize(s),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    public static ScalarType String { get; } = new("String", v => v as string ?? v.ToString() ?? "",
        v => v is string s ? s : throw new InputCoercionException($"String cannot represent a non string value: {Printed(v)}"))
    { Description = "The `String` scalar type represents textual data, represented as UTF-8 character sequences. The String type is most often used by GraphQL to represent free-form human-readable text." };

    public static ScalarType Int { get; } = new("Int", v => v switch
    {
        int i => i,
        long l when l is >= int.MinValue and <= int.MaxValue => (int)l,
        double d when d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue => (int)d,
        _ => throw new InvalidCastException($"Int cannot represent non-integer value: {Printed(v)}"),
    }, v => v switch
    {
        int i => i,
        long l when l is >= int.MinValue and <= int.MaxValue => (int)l,
        long l => throw new InputCoercionException($"Int cannot represent non 32-bit signed integer value: {l}"),
        double d when d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue => (int)d,
        _ => throw new InputCoercionException($"Int cannot represent non-integer value: {Printed(v)}"),
    })
    { Description = "The `Int` scalar type represents non-fractional signed whole numeric values. Int can represent values between -(2^31) and 2^31 - 1." };

    public static ScalarType Float { get; } = new("Float", v => Convert.ToDouble(v, CultureInfo.InvariantCulture), v => v switch
    {
        int i => (double)i,
        long l => (double)l,
        double d => d,
        _ => throw new InputCoercionException($"Float cannot represent non numeric value: {Printed(v)}"),
    })
    { Description = "The `Float` scalar type represents signed double-precision fractional values as specified by [IEEE 754](https://en.wikipedia.org/wiki/IEEE_floating_point)." };

    public static ScalarType Boolean { get; } = new("Boolean", v => v is bool b ? b : throw new InvalidCastException($"Boolean cannot represent a non boolean value: {Printed(v)}"),
        v => v is bool b ? b : throw new InputCoercionException($"Boolean cannot represent a non boolean value: {Printed(v)}"))
    { Description = "The `Boolean` scalar type represents `true` or `false`." };

    public static ScalarType ID { get; } = new("ID", v => v as string ?? v.ToString() ?? "", v => v switch
    {
        string s => s,
        int i => i.ToString(CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        _ => throw new InputCoercionException($"ID cannot represent value: {Printed(v)}"),
    })
    { Description = "The `ID` scalar type represents a unique identifier, often used to refetch an object or as key for a cache. The ID type appears in a JSON response as a String; however, it is not intended to be human-readable. When expected as an input type, any string (such as `\"4\"`) or integer (such as `4`) input value will be accepted as an ID." };

    public static IReadOnlyList<ScalarType> BuiltIn { get; } = [String, Int, Float, Boolean, ID];
}

/// <summary>What a resolver sees: the parent value, the field's coerced arguments and the request's cancellation.</summary>
public sealed record ResolveContext(object? Source, IReadOnlyDictionary<string, object?> Arguments, CancellationToken CancellationToken)
{
    /// <summary>Request-wide state the transport passes in (e.g. the authenticated caller).</summary>
    public object? Context { get; init; }

    /// <summary>The schema being executed (introspection resolvers read it).</summary>
    public GraphQLSchema? Schema { get; init; }

    public T Argument<T>(string name) => Arguments.TryGetValue(name, out var v) && v is T t ? t : default!;
}

/// <summary>An argument of a field or directive, or a field of an input object.</summary>
public sealed record InputValue(string Name, GraphQLType Type, string? Description = null)
{
    public bool HasDefault { get; init; }

    /// <summary>The default, as an input value (what a variable's JSON would hold).</summary>
    public object? DefaultValue { get; init; }

    public string? DeprecationReason { get; init; }

    public InputValue WithDefault(object? value) => this with { HasDefault = true, DefaultValue = value };
}

public sealed record FieldDefinition(string Name, GraphQLType Type, Func<ResolveContext, ValueTask<object?>> Resolve)
{
    public Func<ResolveContext, IAsyncEnumerable<object?>>? Subscribe { get; init; }

    public IReadOnlyList<InputValue> Arguments { get; init; } = [];

    public string? Description { get; init; }

    public string? DeprecationReason { get; init; }
}

/// <summary>Object and interface types: named fields with arguments.</summary>
public abstract class FieldsType(string name) : NamedType(name)
{
    private readonly Dictionary<string, FieldDefinition> _fields = [];
    private readonly List<InterfaceType> _interfaces = [];

    public IReadOnlyDictionary<string, FieldDefinition> Fields => _fields;

    public IReadOnlyList<InterfaceType> Interfaces => _interfaces;

    protected void AddInterface(InterfaceType iface) => _interfaces.Add(iface);

    protected void AddField(FieldDefinition field)
    {
        if (!_fields.TryAdd(field.Name, field))
            throw new InvalidOperationException($"{Name}.{field.Name} is defined twice.");
    }
}

public sealed class ObjectType(string name) : FieldsType(name)
{
    public ObjectType Implements(InterfaceType iface)
    {
        AddInterface(iface);
        return this;
    }

    /// <summary>A subscription root field: Subscribe yields the source events; each event is the field's value.</summary>
    public ObjectType SubscriptionField(string name, GraphQLType type, Func<ResolveContext, IAsyncEnumerable<object?>> subscribe) =>
        SubscriptionField(name, type, [], subscribe);

    public ObjectType SubscriptionField(string name, GraphQLType type, IReadOnlyList<InputValue> args, Func<ResolveContext, IAsyncEnumerable<object?>> subscribe, string? description = null)
    {
        AddField(new FieldDefinition(name, type, c => ValueTask.FromResult(c.Source)) { Subscribe = subscribe, Arguments = args, Description = description });
        return this;
    }

    /// <summary>Adds a field whose resolver computes the value; returns this type for chaining.</summary>
    public ObjectType Field(string name, GraphQLType type, Func<ResolveContext, ValueTask<object?>> resolve)
    {
        AddField(new FieldDefinition(name, type, resolve));
        return this;
    }

    /// <summary>Adds a field with a synchronous resolver.</summary>
    public ObjectType Field(string name, GraphQLType type, Func<ResolveContext, object?> resolve) =>
        Field(name, type, ctx => ValueTask.FromResult(resolve(ctx)));

    /// <summary>Adds a field with arguments (coerced before the resolver runs), a description and an optional deprecation.</summary>
    public ObjectType Field(string name, GraphQLType type, IReadOnlyList<InputValue> args, Func<ResolveContext, ValueTask<object?>> resolve,
        string? description = null, string? deprecationReason = null)
    {
        AddField(new FieldDefinition(name, type, resolve) { Arguments = args, Description = description, DeprecationReason = deprecationReason });
        return this;
    }

    public ObjectType Field(string name, GraphQLType type, IReadOnlyList<InputValue> args, Func<ResolveContext, object?> resolve,
        string? description = null, string? deprecationReason = null) =>
        Field(name, type, args, ctx => ValueTask.FromResult(resolve(ctx)), description, deprecationReason);
}

/// <summary>An input object: named input fields, each with a type and an optional default.</summary>
public sealed class InputObjectType(string name) : NamedType(name)
{
    private readonly Dictionary<string, InputValue> _fields = [];

    public IReadOnlyDictionary<string, InputValue> Fields => _fields;

    public InputObjectType Field(string name, GraphQLType type, string? description = null)
    {
        _fields.Add(name, new InputValue(name, type, description));
        return this;
    }

    public InputObjectType Field(InputValue field)
    {
        _fields.Add(field.Name, field);
        return this;
    }
}

/// <summary>A directive the schema knows: where it may appear and its arguments.</summary>
public sealed record DirectiveDefinition(string Name, IReadOnlyList<string> Locations, IReadOnlyList<InputValue> Arguments, string? Description = null, bool IsRepeatable = false)
{
    public static DirectiveDefinition Skip { get; } = new("skip", ["FIELD", "FRAGMENT_SPREAD", "INLINE_FRAGMENT"],
        [new InputValue("if", ScalarType.Boolean.NonNull(), "Skipped when true.")], "Directs the executor to skip this field or fragment when the `if` argument is true.");

    public static DirectiveDefinition Include { get; } = new("include", ["FIELD", "FRAGMENT_SPREAD", "INLINE_FRAGMENT"],
        [new InputValue("if", ScalarType.Boolean.NonNull(), "Included when true.")], "Directs the executor to include this field or fragment only when the `if` argument is true.");

    public static DirectiveDefinition Deprecated { get; } = new("deprecated", ["FIELD_DEFINITION", "ARGUMENT_DEFINITION", "INPUT_FIELD_DEFINITION", "ENUM_VALUE"],
        [new InputValue("reason", ScalarType.String, "Explains why this element was deprecated, usually also including a suggestion for how to access supported similar data. Formatted using the Markdown syntax, as specified by [CommonMark](https://commonmark.org/).").WithDefault("No longer supported")],
        "Marks an element of a GraphQL schema as no longer supported.");

    public static DirectiveDefinition SpecifiedBy { get; } = new("specifiedBy", ["SCALAR"],
        [new InputValue("url", ScalarType.String.NonNull(), "The URL that specifies the behavior of this scalar.")],
        "Exposes a URL that specifies the behavior of this scalar.");

    public static IReadOnlyList<DirectiveDefinition> BuiltIn { get; } = [Include, Skip, Deprecated, SpecifiedBy];
}

public sealed record GraphQLSchema(ObjectType Query, ObjectType? Mutation = null, ObjectType? Subscription = null)
{
    private IReadOnlyDictionary<string, NamedType>? _types;

    /// <summary>Unions that fragments may name as type conditions.</summary>
    public IReadOnlyList<UnionType> Unions { get; init; } = [];

    /// <summary>Types not reachable from the roots that should still be in the schema (e.g. interface implementations).</summary>
    public IReadOnlyList<NamedType> ExtraTypes { get; init; } = [];

    public IReadOnlyList<DirectiveDefinition> Directives { get; init; } = DirectiveDefinition.BuiltIn;

    public string? Description { get; init; }

    /// <summary>Every named type, found from the roots (introspection types excluded).</summary>
    public IReadOnlyDictionary<string, NamedType> Types => _types ??= SchemaTypes.Collect(this);

    public NamedType? Type(string name) => Types.GetValueOrDefault(name) ?? Introspection.Types.GetValueOrDefault(name);

    /// <summary>The object types an abstract type may be at runtime.</summary>
    public IReadOnlyList<ObjectType> PossibleTypes(NamedType type) => type switch
    {
        ObjectType o => [o],
        UnionType u => u.Members,
        InterfaceType i => Types.Values.OfType<ObjectType>().Where(o => o.Interfaces.Contains(i)).ToList(),
        _ => [],
    };
}

/// <summary>Thrown on purpose by a resolver: its message and extensions (e.g. code) reach the client.</summary>
public sealed class GraphQLRequestException(string message, IReadOnlyDictionary<string, object?>? extensions = null) : Exception(message)
{
    public IReadOnlyDictionary<string, object?>? Extensions { get; } = extensions;
}

/// <summary>Walks a schema from its roots to every named type.</summary>
internal static class SchemaTypes
{
    public static IReadOnlyDictionary<string, NamedType> Collect(GraphQLSchema schema)
    {
        var found = new Dictionary<string, NamedType>();
        void Visit(GraphQLType type)
        {
            var named = type.Named;
            if (found.TryGetValue(named.Name, out var existing))
            {
                if (!ReferenceEquals(existing, named))
                    throw new InvalidOperationException($"The schema has two different types named {named.Name}.");
                return;
            }
            found[named.Name] = named;
            switch (named)
            {
                case UnionType u:
                    foreach (var m in u.Members)
                        Visit(m);
                    break;
                case FieldsType f:
                    foreach (var i in f.Interfaces)
                        Visit(i);
                    foreach (var field in f.Fields.Values)
                    {
                        Visit(field.Type);
                        foreach (var a in field.Arguments)
                            Visit(a.Type);
                    }
                    break;
                case InputObjectType io:
                    foreach (var f in io.Fields.Values)
                        Visit(f.Type);
                    break;
            }
        }
        Visit(schema.Query);
        if (schema.Mutation is not null)
            Visit(schema.Mutation);
        if (schema.Subscription is not null)
            Visit(schema.Subscription);
        foreach (var u in schema.Unions)
            Visit(u);
        foreach (var t in schema.ExtraTypes)
            Visit(t);
        foreach (var d in schema.Directives)
        {
            foreach (var a in d.Arguments)
                Visit(a.Type);
        }
        // Built-in scalars used by introspection are always in the schema.
        Visit(ScalarType.String);
        Visit(ScalarType.Boolean);
        return found;
    }
}
