namespace Wrenn.GraphQL.Engine.Execution;

/// <summary>One value of an enum.</summary>
public sealed record EnumValueDefinition(string Name, string? Description = null, string? DeprecationReason = null);

/// <summary>An enum; resolvers may return the value's name as a string or a C# enum member of the same name. Inputs arrive as the name (a string).</summary>
public sealed class EnumType : NamedType
{
    public EnumType(string name, params string[] values)
        : this(name, values.Select(v => new EnumValueDefinition(v)).ToArray())
    {
    }

    public EnumType(string name, IReadOnlyList<EnumValueDefinition> values)
        : base(name)
    {
        Definitions = values;
        Values = values.Select(v => v.Name).ToList();
    }

    public IReadOnlyList<string> Values { get; }

    public IReadOnlyList<EnumValueDefinition> Definitions { get; }

    public string Serialize(object value)
    {
        string s = value as string ?? value.ToString() ?? "";
        return Values.Contains(s) ? s : throw new InvalidCastException($"Enum \"{Name}\" cannot represent value: {ScalarType.Printed(value)}");
    }

    public static EnumType From<T>(string? name = null) where T : struct, Enum => new(name ?? typeof(T).Name, Enum.GetNames<T>());
}

/// <summary>Interfaces and unions: ResolveType picks the object type of a runtime value.</summary>
public abstract class AbstractType(string name, Func<object, ObjectType> resolveType) : FieldsType(name)
{
    public ObjectType ResolveType(object value) => resolveType(value);
    public abstract bool IsPossibleType(ObjectType type);
}

public sealed class InterfaceType(string name, Func<object, ObjectType> resolveType) : AbstractType(name, resolveType)
{
    public override bool IsPossibleType(ObjectType type) => type.Interfaces.Contains(this);

    /// <summary>Declares a field every implementation has (objects resolve it themselves).</summary>
    public InterfaceType Field(string name, GraphQLType type, IReadOnlyList<InputValue>? args = null, string? description = null, string? deprecationReason = null)
    {
        AddField(new FieldDefinition(name, type, _ => ValueTask.FromResult<object?>(null)) { Arguments = args ?? [], Description = description, DeprecationReason = deprecationReason });
        return this;
    }

    public InterfaceType Implements(InterfaceType other)
    {
        AddInterface(other);
        return this;
    }
}

public sealed class UnionType(string name, Func<object, ObjectType> resolveType, params ObjectType[] members) : AbstractType(name, resolveType)
{
    public IReadOnlyList<ObjectType> Members { get; } = members;
    public override bool IsPossibleType(ObjectType type) => Members.Contains(type);
}
