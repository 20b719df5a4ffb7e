using GraphQL.Types;

namespace Wrenn.GraphQL.Schema.Types;

public sealed record CreateSandboxInput
{
    public string Template { get; init; } = "";

    public int? Vcpus { get; init; }

    public int? MemoryMib { get; init; }

    /// <summary>Null (sent explicitly) means the default, as before.</summary>
    public int? TimeoutSeconds { get; init; }

    public IReadOnlyList<KeyValueInput>? Metadata { get; init; }

    public NetworkPolicyInput? Network { get; init; }
}

public sealed class CreateSandboxInputType : InputObjectGraphType<CreateSandboxInput>
{
    public const int DefaultTimeoutSeconds = 300;

    public CreateSandboxInputType()
    {
        Name = "CreateSandboxInput";
        Field<NonNullGraphType<StringGraphType>>("template").Description("A template name (your team's first, then public ones) or id; `base` always exists.");
        Field<IntGraphType>("vcpus").Description("Default: the template's.");
        Field<IntGraphType>("memoryMib").Description("Default: the template's.");
        Field<IntGraphType>("timeoutSeconds").Description("Running time after which the sandbox is destroyed.").DefaultValue(DefaultTimeoutSeconds);
        Field<ListGraphType<NonNullGraphType<KeyValueInputType>>>("metadata");
        Field<NetworkPolicyInputType>("network").Description("What it may reach. Default: its template's policy (a template keeps the one of the sandbox it was made from), else the host's.");
    }
}
