using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

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

    public TimeoutAction OnTimeout { get; init; } = TimeoutAction.Destroy;

    public AutoPauseInput? AutoPause { get; init; }

    public bool AutoResume { get; init; }

    public SandboxLifecycle Lifecycle => new(OnTimeout, AutoPause?.IdleSeconds, AutoResume);
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
        Field<IntGraphType>("timeoutSeconds").Description("Running time after which the sandbox is destroyed (or paused: onTimeout).").DefaultValue(DefaultTimeoutSeconds);
        Field<ListGraphType<NonNullGraphType<KeyValueInputType>>>("metadata");
        Field<NetworkPolicyInputType>("network").Description("What it may reach. Default: its template's policy (a template keeps the one of the sandbox it was made from), else the host's.");
        Field<TimeoutActionType>("onTimeout").Description("What its timeout does: DESTROY, or PAUSE to keep its files and processes.").DefaultValue(TimeoutAction.Destroy);
        Field<AutoPauseInputType>("autoPause").Description("Pause by itself once idle for idleSeconds. Default: never.");
        Field<BooleanGraphType>("autoResume").Description("A call that needs its VM (exec, files, processes, watches, listening ports, a forwarded request) wakes it when paused, instead of failing with FAILED_PRECONDITION.").DefaultValue(false);
    }
}
