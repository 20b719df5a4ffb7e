namespace Wrenn.GraphQL.Engine.Language;

/// <summary>A 1-based position in the source text, as the spec's response format reports it.</summary>
public readonly record struct Location(int Line, int Column);

public abstract record Node(Location Location);

public sealed record Document(IReadOnlyList<Definition> Definitions, Location Location) : Node(Location);

public abstract record Definition(Location Location) : Node(Location);

public enum OperationType { Query, Mutation, Subscription }

public sealed record OperationDefinition(
    OperationType Operation, string? Name, IReadOnlyList<VariableDefinition> Variables,
    IReadOnlyList<Directive> Directives, SelectionSet SelectionSet, Location Location) : Definition(Location);

public sealed record FragmentDefinition(
    string Name, NamedTypeRef TypeCondition, IReadOnlyList<Directive> Directives,
    SelectionSet SelectionSet, Location Location) : Definition(Location);

/// <summary>A type-system definition; parsed so that validation can report it (executable documents must not hold one).</summary>
public sealed record TypeSystemDefinition(string Keyword, string? Name, Location Location) : Definition(Location);

public sealed record VariableDefinition(
    string Name, TypeRef Type, Value? DefaultValue, IReadOnlyList<Directive> Directives, Location Location) : Node(Location);

public sealed record SelectionSet(IReadOnlyList<Selection> Selections, Location Location) : Node(Location);

public abstract record Selection(IReadOnlyList<Directive> Directives, Location Location) : Node(Location);

public sealed record Field(
    string? Alias, string Name, IReadOnlyList<Argument> Arguments, IReadOnlyList<Directive> Directives,
    SelectionSet? SelectionSet, Location Location) : Selection(Directives, Location)
{
    public string ResponseKey => Alias ?? Name;
}

public sealed record FragmentSpread(string Name, IReadOnlyList<Directive> Directives, Location Location)
    : Selection(Directives, Location);

public sealed record InlineFragment(
    NamedTypeRef? TypeCondition, IReadOnlyList<Directive> Directives, SelectionSet SelectionSet, Location Location)
    : Selection(Directives, Location);

public sealed record Argument(string Name, Value Value, Location Location) : Node(Location);

public sealed record Directive(string Name, IReadOnlyList<Argument> Arguments, Location Location) : Node(Location);

public abstract record TypeRef(Location Location) : Node(Location);
public sealed record NamedTypeRef(string Name, Location Location) : TypeRef(Location);
public sealed record ListTypeRef(TypeRef OfType, Location Location) : TypeRef(Location);
public sealed record NonNullTypeRef(TypeRef OfType, Location Location) : TypeRef(Location);

public abstract record Value(Location Location) : Node(Location);
public sealed record VariableValue(string Name, Location Location) : Value(Location);
public sealed record IntValue(string Raw, Location Location) : Value(Location);
public sealed record FloatValue(string Raw, Location Location) : Value(Location);
public sealed record StringValue(string Text, bool Block, Location Location) : Value(Location);
public sealed record BooleanValue(bool Is, Location Location) : Value(Location);
public sealed record NullValue(Location Location) : Value(Location);
public sealed record EnumValue(string Name, Location Location) : Value(Location);
public sealed record ListValue(IReadOnlyList<Value> Items, Location Location) : Value(Location);
public sealed record ObjectValue(IReadOnlyList<ObjectField> Fields, Location Location) : Value(Location);
public sealed record ObjectField(string Name, Value Value, Location Location) : Node(Location);
