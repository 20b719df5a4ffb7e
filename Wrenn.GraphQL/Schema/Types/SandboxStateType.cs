using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

/// <summary>A sandbox's state as the API names it (PAUSING and RESUMING are part of the contract; the silo reports them as PAUSED).</summary>
public enum ApiSandboxState { Starting, Running, Pausing, Paused, Resuming, Destroyed, Failed, Lost }

public sealed class SandboxStateType : EnumerationGraphType<ApiSandboxState>
{
    public SandboxStateType()
    {
        Name = "SandboxState";
        Description = "Where a sandbox is in its life.";
        Describe(ApiSandboxState.Starting, "Being created: its VM is booting.");
        Describe(ApiSandboxState.Running, "Running: commands and files work.");
        Describe(ApiSandboxState.Pausing, "Being paused.");
        Describe(ApiSandboxState.Paused, "Paused to disk: holds no memory or CPU.");
        Describe(ApiSandboxState.Resuming, "Being resumed.");
        Describe(ApiSandboxState.Destroyed, "Destroyed by a user or its timeout; nothing of it is left.");
        Describe(ApiSandboxState.Failed, "Could not be created; nothing of it is left.");
        Describe(ApiSandboxState.Lost, "Its VM went away (host crash or reboot).");
    }

    public static ApiSandboxState Of(SandboxState state) => state switch
    {
        SandboxState.Creating => ApiSandboxState.Starting,
        SandboxState.Running => ApiSandboxState.Running,
        SandboxState.Paused => ApiSandboxState.Paused,
        SandboxState.Destroyed => ApiSandboxState.Destroyed,
        SandboxState.Failed => ApiSandboxState.Failed,
        _ => ApiSandboxState.Lost,
    };

    public static SandboxState ToSilo(ApiSandboxState state) => state switch
    {
        ApiSandboxState.Starting => SandboxState.Creating,
        ApiSandboxState.Running => SandboxState.Running,
        ApiSandboxState.Pausing or ApiSandboxState.Paused or ApiSandboxState.Resuming => SandboxState.Paused,
        ApiSandboxState.Destroyed => SandboxState.Destroyed,
        ApiSandboxState.Failed => SandboxState.Failed,
        _ => SandboxState.Lost,
    };

    private void Describe(ApiSandboxState value, string description) => Values.FindByValue(value)!.Description = description;
}
