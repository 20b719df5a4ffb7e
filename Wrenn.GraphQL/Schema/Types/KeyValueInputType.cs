using GraphQL.Types;

namespace Wrenn.GraphQL.Schema.Types;

public sealed record KeyValueInput
{
    public string Key { get; init; } = "";

    public string Value { get; init; } = "";
}

public sealed class KeyValueInputType : InputObjectGraphType<KeyValueInput>
{
    public KeyValueInputType()
    {
        Name = "KeyValueInput";
        Field<NonNullGraphType<StringGraphType>>("key");
        Field<NonNullGraphType<StringGraphType>>("value");
    }
}
