namespace Wrenn.Grains.Sandboxes;

// Processes that outlive the call that started them (the agent's process table, in guest memory).
// Every type here crosses silos: its [Alias] and [Id]s are its wire format; add members with new
// ids, never renumber or reuse one.

/// <summary>A terminal's size in characters (1 to 1000 each way).</summary>
[GenerateSerializer]
[Alias("wrenn.TerminalSize")]
public sealed record TerminalSize([Id(0)] int Cols, [Id(1)] int Rows)
{
    public const int Max = 1000;

    public bool IsValid => Cols is >= 1 and <= Max && Rows is >= 1 and <= Max;
}

/// <summary>
/// A process to start and leave running: a program on the guest's PATH (or an absolute path) and its
/// arguments, no shell. With <see cref="Pty"/> it runs on a new pseudo-terminal of that size.
/// </summary>
[GenerateSerializer]
[Alias("wrenn.ProcessStart")]
public sealed record ProcessStart(
    [Id(0)] string Command,
    [Id(1)] IReadOnlyList<string>? Args = null,
    [Id(2)] IReadOnlyDictionary<string, string>? Env = null,
    [Id(3)] string? Cwd = null,
    [Id(4)] TerminalSize? Pty = null,
    [Id(5)] string? Tag = null,
    [Id(6)] int? TimeoutSeconds = null);

/// <summary>A process the agent started; an ended one keeps its <see cref="ExitCode"/> (listed for 10 minutes).</summary>
[GenerateSerializer]
[Alias("wrenn.ProcessEntry")]
public sealed record ProcessEntry(
    [Id(0)] int Pid,
    [Id(1)] string? Tag,
    [Id(2)] string Command,
    [Id(3)] IReadOnlyList<string> Args,
    [Id(4)] bool Pty,
    [Id(5)] DateTimeOffset StartedAt,
    [Id(6)] int? ExitCode);

[GenerateSerializer]
[Alias("wrenn.ProcessOutputKind")]
public enum ProcessOutputKind { Stdout, Stderr, Pty, Exited }

/// <summary>One event of an attached process: output bytes as they come (first the retained last 1 MiB), then its exit.</summary>
[GenerateSerializer]
[Alias("wrenn.ProcessOutput")]
public sealed record ProcessOutput([Id(0)] ProcessOutputKind Kind, [Id(1)] byte[]? Data = null, [Id(2)] int? ExitCode = null);

/// <summary>The signals a caller may send to a process's group; the values are Linux's numbers.</summary>
[GenerateSerializer]
[Alias("wrenn.ProcessSignal")]
public enum ProcessSignal
{
    Hup = 1,
    Int = 2,
    Quit = 3,
    Kill = 9,
    Usr1 = 10,
    Usr2 = 12,
    Term = 15,
    Cont = 18,
    Stop = 19,
}
