using Wrenn.Grains.Runtime;

namespace Wrenn.Grains.Sandboxes;

/// <summary>
/// One sandbox, keyed <c>sb-{uuid}</c>, pinned to the silo whose host runs its VM. Lifecycle
/// transitions are exclusive turns; execs and file calls run together; destroy cancels them.
/// </summary>
[GrainKind("sandbox")]
[Placement(PlacementKind.Pinned)]
public interface ISandboxGrain : IRemindable
{
    /// <summary>Boots the VM; returns once the sandbox is Running (or throws, having undone every step).</summary>
    [CallTimeout(600)]
    Task<SandboxInfo> CreateAsync(Caller caller, CreateSandbox request, CancellationToken cancellationToken);

    [Shared]
    Task<SandboxInfo> GetAsync(Caller caller);

    /// <summary>Runs a command to its end. The request's timeout, not the call's, bounds it.</summary>
    [Shared]
    [CallTimeout(86_400)]
    Task<ExecOutcome> ExecAsync(Caller caller, ExecRequest request, CancellationToken cancellationToken);

    /// <summary>Runs a command and streams its events as they happen.</summary>
    [Shared]
    IAsyncEnumerable<ExecEvent> ExecStreamAsync(Caller caller, ExecRequest request, CancellationToken cancellationToken);

    [Shared]
    IAsyncEnumerable<byte[]> ReadFileAsync(Caller caller, string path, CancellationToken cancellationToken);

    [Shared]
    [CallTimeout(600)]
    Task<FileEntry> WriteFileAsync(Caller caller, string path, byte[] content, CancellationToken cancellationToken);

    /// <summary>
    /// Writes one piece of a file at <paramref name="offset"/> (the first piece with
    /// <paramref name="truncate"/>): large uploads stream through in pieces, never whole in memory.
    /// </summary>
    [Shared]
    Task<FileEntry> WriteFileChunkAsync(Caller caller, string path, long offset, byte[] data, bool truncate, CancellationToken cancellationToken);

    [Shared]
    Task<IReadOnlyList<FileEntry>> ListDirAsync(Caller caller, string path, CancellationToken cancellationToken);

    /// <summary>
    /// Snapshots the VM to disk and stops it: a paused sandbox holds files only (no VMM process,
    /// network, memory or CPU). Waits for running commands to end. Its timeout stops counting.
    /// </summary>
    [CallTimeout(600)]
    Task<SandboxInfo> PauseAsync(Caller caller);

    /// <summary>Restores the VM on the same host, exactly as it was (processes, files, memory).</summary>
    [CallTimeout(600)]
    Task<SandboxInfo> ResumeAsync(Caller caller);

    /// <summary>
    /// Freezes the sandbox into a snapshot template (memory, devices, a disk that no longer changes
    /// with the source); the sandbox goes on running. New sandboxes from it start in that state.
    /// </summary>
    [CallTimeout(900)]
    Task<TemplateInfo> CreateTemplateAsync(Caller caller, string name);

    /// <summary>The sandbox is destroyed <paramref name="seconds"/> of running time from now.</summary>
    Task<SandboxInfo> SetTimeoutAsync(Caller caller, int seconds);

    /// <summary>Cancels running commands, then removes the VM, its network and its disk.</summary>
    [CancelsShared]
    [CallTimeout(300)]
    Task DestroyAsync(Caller caller);
}
