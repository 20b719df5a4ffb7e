namespace Wrenn.GraphQL.Engine.Execution;

/// <summary>An enum; resolvers may return the value's name as a string or a C# enum member of the same name.</summary>
public sealed class EnumType(string name, params string[] values) : NamedType(name)
{
    public IReadOnlyList<string> Values { get; } = values;

    public string Serialize(object value)
    {
        string s = value as string ?? value.ToString() ?? "";
        return Values.Contains(s) ? s : throw new InvalidCastException($"Enum \"{Name}\" cannot represent value: {s}");
    }

    public static EnumType From<T>(string? name = null) where T : struct, Enum => new(name ?? typeof(T).Name, Enum.GetNames<T>());
}

/// <summary>Interfaces and unions: ResolveType picks the object type of a runtime value.</summary>
public abstract class AbstractType(string name, Func<object, ObjectType> resolveType) : NamedType(name)
{
    public ObjectType ResolveType(object value) => resolveType(value);
    public abstract bool IsPossibleType(ObjectType type);
}

public sealed class InterfaceType(string name, Func<object, ObjectType> resolveType) : AbstractType(name, resolveType)
{
    public override bool IsPossibleType(ObjectType type) => type.Interfaces.Contains(this);
}

public sealed class UnionType(string name, Func<object, ObjectType> resolveType, params ObjectType[] members) : AbstractType(name, resolveType)
{
    public IReadOnlyList<ObjectType> Members { get; } = members;
    public override bool IsPossibleType(ObjectType type) => Members.Contains(type);
}
