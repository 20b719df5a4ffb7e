using GraphQL.Types;

namespace Wrenn.GraphQL.Schema.Types;

public sealed record EnvVarInput
{
    public string Name { get; init; } = "";

    public string Value { get; init; } = "";
}

public sealed class EnvVarInputType : InputObjectGraphType<EnvVarInput>
{
    public EnvVarInputType()
    {
        Name = "EnvVarInput";
        Description = "An environment variable for a command.";
        Field<NonNullGraphType<StringGraphType>>("name");
        Field<NonNullGraphType<StringGraphType>>("value");
    }
}
