using Microsoft.Extensions.Options;
using Wrenn.Plugins.Jail;

namespace Wrenn.Plugins.Vmm.Firecracker;

/// <summary>Configuration <c>Wrenn:Plugins:firecracker</c>.</summary>
public sealed record FirecrackerOptions
{
    public const string Section = "Wrenn:Plugins:firecracker";

    /// <summary>The firecracker binary: a path, or a name looked up on PATH (WRENN_FIRECRACKER_BIN overrides).</summary>
    public string Binary { get; init; } = Environment.GetEnvironmentVariable("WRENN_FIRECRACKER_BIN") is { Length: > 0 } bin ? bin : "firecracker";

    /// <summary>How long a fresh process gets to open its API socket.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// What the VM's cgroup allows beyond guest RAM: Firecracker's own memory and, for a restore
    /// through memory-uffd, the page server's (a .NET process in the same cgroup). Not measured here
    /// (no KVM on this project's machines): a generous default.
    /// </summary>
    public int MemoryOverheadMib { get; init; } = 160;

    /// <summary>
    /// The host memory the silo reserves per VM beyond guest RAM (IVmm.HostOverheadMib): Firecracker's
    /// documented VMM overhead, at most 5 MiB per microVM (its specification; not measurable here, no
    /// KVM). A restore through memory-uffd adds the page server's process: raise this for such hosts.
    /// </summary>
    public int ReservedOverheadMib { get; init; } = 5;

    /// <summary>The jail each Firecracker runs in (<c>Wrenn:Plugins:firecracker:Jail</c>).</summary>
    public JailOptions Jail { get; init; } = new();

    /// <summary>The binary as a full path, or null when it cannot be found (what `wrenn plugins` reports).</summary>
    public string? ResolveBinary()
    {
        if (Binary.Contains('/'))
            return File.Exists(Binary) ? Path.GetFullPath(Binary) : null;
        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, Binary)).FirstOrDefault(File.Exists);
    }
}

/// <summary>Checks <see cref="FirecrackerOptions"/> at start (a missing binary is a diagnostic, not a refusal).</summary>
public sealed class FirecrackerOptionsValidator : IValidateOptions<FirecrackerOptions>
{
    public ValidateOptionsResult Validate(string? name, FirecrackerOptions options)
    {
        var problems = new List<string>(options.Jail.Problems($"{FirecrackerOptions.Section}:Jail"));
        if (options.ReservedOverheadMib < 0 || options.ReservedOverheadMib > options.MemoryOverheadMib)
            problems.Add($"{FirecrackerOptions.Section}:ReservedOverheadMib must be between 0 and MemoryOverheadMib ({options.MemoryOverheadMib}), got {options.ReservedOverheadMib}.");
        if (options.MemoryOverheadMib < 16)
            problems.Add($"{FirecrackerOptions.Section}:MemoryOverheadMib must be at least 16, got {options.MemoryOverheadMib}.");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
