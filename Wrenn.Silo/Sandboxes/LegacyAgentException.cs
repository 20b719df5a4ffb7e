namespace Wrenn.Silo.Sandboxes;

/// <summary>
/// The guest runs the agent that came before the gRPC one (the Connect protocol): a sandbox,
/// template or warm base frozen by an older Wrenn holds it in its memory. This Wrenn cannot drive
/// it; such a sandbox is refused (FAILED_PRECONDITION) with how to re-create it.
/// </summary>
public sealed class LegacyAgentException(string sandboxId, string found)
    : Exception($"Sandbox {sandboxId} runs the guest agent of an older Wrenn ({found}), which this Wrenn no longer speaks. " +
        "Create a new sandbox from the base image (or a template made after the upgrade) and copy what you need into it; " +
        "a template frozen before the upgrade must be made again from such a sandbox.")
{
    public string SandboxId { get; } = sandboxId;
}
