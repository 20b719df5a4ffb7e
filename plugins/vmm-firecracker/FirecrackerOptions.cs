namespace Wrenn.Plugins.Vmm.Firecracker;

/// <summary>Configuration <c>Wrenn:Plugins:firecracker</c>.</summary>
public sealed record FirecrackerOptions
{
    /// <summary>The firecracker binary: a path, or a name looked up on PATH (WRENN_FIRECRACKER_BIN overrides).</summary>
    public string Binary { get; init; } = Environment.GetEnvironmentVariable("WRENN_FIRECRACKER_BIN") is { Length: > 0 } bin ? bin : "firecracker";

    /// <summary>How long a fresh process gets to open its API socket.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The binary as a full path, or null when it cannot be found (what `wrenn plugins` reports).</summary>
    public string? ResolveBinary()
    {
        if (Binary.Contains('/'))
            return File.Exists(Binary) ? Binary : null;
        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, Binary)).FirstOrDefault(File.Exists);
    }
}
