namespace Wrenn.Grains.Sandboxes;

public enum SandboxState { Creating, Running, Paused, Destroyed, Failed, Lost }

/// <summary>What a user asks for. Zero vcpus or memory take the template's defaults.</summary>
public sealed record CreateSandbox(
    string TemplateId,
    int Vcpus,
    int MemoryMib,
    int TimeoutSeconds,
    IReadOnlyDictionary<string, string>? Metadata = null);

public sealed record SandboxInfo(
    string Id,
    string TeamId,
    string TemplateId,
    string Host,
    SandboxState State,
    int Vcpus,
    int MemoryMib,
    DateTimeOffset CreatedAt,
    DateTimeOffset? Deadline,
    IReadOnlyDictionary<string, string> Metadata,
    string? Error = null);

/// <summary>A program found on the guest's PATH (or an absolute path) and its arguments; no shell.</summary>
public sealed record ExecRequest(
    string Command,
    IReadOnlyList<string>? Args = null,
    IReadOnlyDictionary<string, string>? Env = null,
    string? Cwd = null,
    int? TimeoutSeconds = null);

public sealed record ExecOutcome(int ExitCode, string Stdout, string Stderr);

public enum ExecEventKind { Started, Stdout, Stderr, Exited }

/// <summary>One event of a streamed exec: started (with its pid), output as it comes, then exited.</summary>
public sealed record ExecEvent(ExecEventKind Kind, int? Pid = null, byte[]? Data = null, int? ExitCode = null);

public sealed record FileEntry(string Path, string Name, bool IsDirectory, long Size, DateTimeOffset? ModifiedAt);
