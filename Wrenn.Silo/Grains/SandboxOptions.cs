namespace Wrenn.Silo.Grains;

/// <summary>Sandbox policies (configuration <c>Wrenn:Sandboxes</c>).</summary>
public sealed record SandboxOptions
{
    /// <summary>A paused sandbox is deleted (its disk and snapshot files) after this long paused.</summary>
    public TimeSpan PausedRetention { get; init; } = TimeSpan.FromDays(7);
}
