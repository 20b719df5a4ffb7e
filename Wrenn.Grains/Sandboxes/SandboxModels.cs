namespace Wrenn.Grains.Sandboxes;

// Every type here crosses silos and may be stored: its [Alias] and [Id]s are its wire format.
// Add members with new ids; never renumber or reuse one, so a renamed type or member still reads
// what an older build wrote.

[GenerateSerializer]
[Alias("wrenn.SandboxState")]
public enum SandboxState { Creating, Running, Paused, Destroyed, Failed, Lost }

/// <summary>What a user asks for. Zero vcpus or memory take the template's defaults; no network policy, the template's (or the host's default); no lifecycle, the defaults (destroy on timeout, no autoPause or autoResume).</summary>
[GenerateSerializer]
[Alias("wrenn.CreateSandbox")]
public sealed record CreateSandbox(
    [Id(0)] string TemplateId,
    [Id(1)] int Vcpus,
    [Id(2)] int MemoryMib,
    [Id(3)] int TimeoutSeconds,
    [Id(4)] IReadOnlyDictionary<string, string>? Metadata = null,
    [Id(5)] NetworkPolicy? Network = null,
    [Id(6)] SandboxLifecycle? Lifecycle = null);

[GenerateSerializer]
[Alias("wrenn.SandboxInfo")]
public sealed record SandboxInfo(
    [Id(0)] string Id,
    [Id(1)] string TeamId,
    [Id(2)] string TemplateId,
    [Id(3)] string Host,
    [Id(4)] SandboxState State,
    [Id(5)] int Vcpus,
    [Id(6)] int MemoryMib,
    [Id(7)] DateTimeOffset CreatedAt,
    [Id(8)] DateTimeOffset? Deadline,
    [Id(9)] IReadOnlyDictionary<string, string> Metadata,
    [Id(10)] string? Error = null,
    [Id(11)] NetworkPolicy? Network = null,
    [Id(12)] SandboxLifecycle? Lifecycle = null,
    [Id(13)] PauseReason? PausedReason = null);

/// <summary>
/// A program found on the guest's PATH (or an absolute path) and its arguments; no shell.
/// <see cref="Stdin"/> is written to its standard input, which is then closed (without it, the input is closed at once).
/// </summary>
[GenerateSerializer]
[Alias("wrenn.ExecRequest")]
public sealed record ExecRequest(
    [Id(0)] string Command,
    [Id(1)] IReadOnlyList<string>? Args = null,
    [Id(2)] IReadOnlyDictionary<string, string>? Env = null,
    [Id(3)] string? Cwd = null,
    [Id(4)] int? TimeoutSeconds = null,
    [Id(5)] byte[]? Stdin = null);

[GenerateSerializer]
[Alias("wrenn.ExecOutcome")]
public sealed record ExecOutcome([Id(0)] int ExitCode, [Id(1)] string Stdout, [Id(2)] string Stderr);

[GenerateSerializer]
[Alias("wrenn.ExecEventKind")]
public enum ExecEventKind { Started, Stdout, Stderr, Exited }

/// <summary>One event of a streamed exec: started (with its pid), output as it comes, then exited.</summary>
[GenerateSerializer]
[Alias("wrenn.ExecEvent")]
public sealed record ExecEvent([Id(0)] ExecEventKind Kind, [Id(1)] int? Pid = null, [Id(2)] byte[]? Data = null, [Id(3)] int? ExitCode = null);

[GenerateSerializer]
[Alias("wrenn.FileEntry")]
public sealed record FileEntry([Id(0)] string Path, [Id(1)] string Name, [Id(2)] bool IsDirectory, [Id(3)] long Size, [Id(4)] DateTimeOffset? ModifiedAt);
