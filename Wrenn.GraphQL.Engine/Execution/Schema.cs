namespace Wrenn.GraphQL.Engine.Execution;

/// <summary>A type reference in the schema: a named type, or a list/non-null wrapper.</summary>
public abstract class GraphQLType
{
    public ListType List() => new(this);
    public NonNullType NonNull() => new(this);
}

public abstract class NamedType(string name) : GraphQLType
{
    public string Name { get; } = name;
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

/// <summary>A leaf type; Serialize turns a resolver's value into a JSON-ready value or throws when it cannot.</summary>
public sealed class ScalarType(string name, Func<object, object> serialize) : NamedType(name)
{
    public object Serialize(object value) => serialize(value);

    public static ScalarType String { get; } = new("String", v => v as string ?? v.ToString() ?? "");
    public static ScalarType Int { get; } = new("Int", v => v switch
    {
        int i => i,
        long l when l is >= int.MinValue and <= int.MaxValue => (int)l,
        _ => throw new InvalidCastException($"Int cannot represent value: {v}"),
    });
    public static ScalarType Boolean { get; } = new("Boolean", v => v is bool b ? b : throw new InvalidCastException($"Boolean cannot represent value: {v}"));
    public static ScalarType Float { get; } = new("Float", v => Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture));
    public static ScalarType ID { get; } = new("ID", v => v as string ?? v.ToString() ?? "");
}

/// <summary>What a resolver sees: the parent value, the field's arguments (variables substituted) and the request's cancellation.</summary>
public sealed record ResolveContext(object? Source, IReadOnlyDictionary<string, object?> Arguments, CancellationToken CancellationToken);

public sealed record FieldDefinition(string Name, GraphQLType Type, Func<ResolveContext, ValueTask<object?>> Resolve)
{
    public Func<ResolveContext, IAsyncEnumerable<object?>>? Subscribe { get; init; }
}

public sealed class ObjectType(string name) : NamedType(name)
{
    private readonly Dictionary<string, FieldDefinition> _fields = [];
    private readonly List<InterfaceType> _interfaces = [];

    public IReadOnlyList<InterfaceType> Interfaces => _interfaces;

    public ObjectType Implements(InterfaceType iface)
    {
        _interfaces.Add(iface);
        return this;
    }

    /// <summary>A subscription root field: Subscribe yields the source events; each event is the field's value.</summary>
    public ObjectType SubscriptionField(string name, GraphQLType type, Func<ResolveContext, IAsyncEnumerable<object?>> subscribe)
    {
        _fields.Add(name, new FieldDefinition(name, type, c => ValueTask.FromResult(c.Source)) { Subscribe = subscribe });
        return this;
    }

    public IReadOnlyDictionary<string, FieldDefinition> Fields => _fields;

    /// <summary>Adds a field whose resolver computes the value; returns this type for chaining.</summary>
    public ObjectType Field(string name, GraphQLType type, Func<ResolveContext, ValueTask<object?>> resolve)
    {
        _fields.Add(name, new FieldDefinition(name, type, resolve));
        return this;
    }

    /// <summary>Adds a field with a synchronous resolver.</summary>
    public ObjectType Field(string name, GraphQLType type, Func<ResolveContext, object?> resolve) =>
        Field(name, type, ctx => ValueTask.FromResult(resolve(ctx)));
}

public sealed record GraphQLSchema(ObjectType Query, ObjectType? Mutation = null, ObjectType? Subscription = null)
{
    /// <summary>Unions that fragments may name as type conditions.</summary>
    public IReadOnlyList<UnionType> Unions { get; init; } = [];
}

/// <summary>Thrown on purpose by a resolver: its message and extensions (e.g. code) reach the client.</summary>
public sealed class GraphQLRequestException(string message, IReadOnlyDictionary<string, object?>? extensions = null) : Exception(message)
{
    public IReadOnlyDictionary<string, object?>? Extensions { get; } = extensions;
}
