namespace Wrenn.Silo.Cluster;

/// <summary>
/// The stable grain type names (<c>[GrainType]</c> on the grain classes): they are part of every
/// grain id, in the directory, reminders and stored state, so renaming a class never changes them.
/// </summary>
public static class GrainTypes
{
    public const string Sandbox = "sandbox";
    public const string Template = "template";
    public const string Host = "host";
    public const string SandboxEvents = "sandbox-events";
}
