using GraphQL.Types;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class SandboxEventKindType : EnumerationGraphType<SandboxEventKind>
{
    public SandboxEventKindType()
    {
        Name = "SandboxEventKind";
        Description = "What happened to a sandbox, as webhooks report it.";
        Describe(SandboxEventKind.Created, "It was asked for: its VM starts.");
        Describe(SandboxEventKind.Running, "Its VM runs for the first time.");
        Describe(SandboxEventKind.Paused, "It was paused to disk.");
        Describe(SandboxEventKind.Resumed, "It runs again after a pause.");
        Describe(SandboxEventKind.Destroyed, "It was destroyed by a user or the silo.");
        Describe(SandboxEventKind.TimedOut, "Its timeout (or, paused, its retention) passed and it was destroyed.");
        Describe(SandboxEventKind.Failed, "It could not be created, or its VM failed.");
        Describe(SandboxEventKind.Lost, "Its VM went away (host crash or reboot).");
    }

    private void Describe(SandboxEventKind value, string description) => Values.FindByValue(value)!.Description = description;
}
