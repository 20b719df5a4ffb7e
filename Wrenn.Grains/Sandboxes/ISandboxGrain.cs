namespace Wrenn.Grains.Sandboxes;

/// <summary>
/// One sandbox, keyed <c>sb-{uuid}</c>, that lives only on the host whose silo runs its VM.
/// Lifecycle transitions (create, pause, resume, template, timeout, destroy) run one at a time;
/// execs, file and process calls run together but never alongside a transition; destroy cancels
/// them. Attached outputs and watches hold no turn: a pause or destroy ends them.
/// Calls have no total timeout where the work can take long (the response timeouts below are
/// upper bounds for a stuck silo, not for the work): streams have none at all.
/// </summary>
[Alias("wrenn.sandbox")]
public interface ISandboxGrain : IGrainWithStringKey
{
    /// <summary>Boots the VM; returns once the sandbox is Running (or throws, having undone every step).</summary>
    [Alias("create")]
    [Audited("sandbox.create")]
    [ResponseTimeout("00:10:00")]
    Task<SandboxInfo> CreateAsync(Caller caller, CreateSandbox request, CancellationToken cancellationToken);

    [Alias("get")]
    Task<SandboxInfo> GetAsync(Caller caller);

    /// <summary>Runs a command to its end. The request's timeout, not the call's, bounds it.</summary>
    [Alias("exec")]
    [ResponseTimeout("1.00:00:00")]
    Task<ExecOutcome> ExecAsync(Caller caller, ExecRequest request, CancellationToken cancellationToken);

    /// <summary>Runs a command and streams its events as they happen, for as long as it runs.</summary>
    [Alias("exec-stream")]
    IAsyncEnumerable<ExecEvent> ExecStreamAsync(Caller caller, ExecRequest request, CancellationToken cancellationToken);

    [Alias("read-file")]
    IAsyncEnumerable<byte[]> ReadFileAsync(Caller caller, string path, CancellationToken cancellationToken);

    [Alias("write-file")]
    [ResponseTimeout("00:10:00")]
    Task<FileEntry> WriteFileAsync(Caller caller, string path, byte[] content, CancellationToken cancellationToken);

    /// <summary>
    /// Writes one piece of a file at <paramref name="offset"/> (the first piece with
    /// <paramref name="truncate"/>): large uploads stream through in pieces, never whole in memory.
    /// </summary>
    [Alias("write-file-chunk")]
    [ResponseTimeout("00:05:00")]
    Task<FileEntry> WriteFileChunkAsync(Caller caller, string path, long offset, byte[] data, bool truncate, CancellationToken cancellationToken);

    [Alias("list-dir")]
    [ResponseTimeout("00:05:00")]
    Task<IReadOnlyList<FileEntry>> ListDirAsync(Caller caller, string path, CancellationToken cancellationToken);

    /// <summary>The entry at <paramref name="path"/>, or null if nothing is there.</summary>
    [Alias("stat")]
    Task<FileEntry?> StatAsync(Caller caller, string path, CancellationToken cancellationToken);

    /// <summary>Makes a folder and any missing parents; an existing folder is fine.</summary>
    [Alias("make-dir")]
    Task<FileEntry> MakeDirAsync(Caller caller, string path, CancellationToken cancellationToken);

    /// <summary>Renames a file or folder; an existing target is refused.</summary>
    [Alias("move-path")]
    Task<FileEntry> MovePathAsync(Caller caller, string from, string to, CancellationToken cancellationToken);

    /// <summary>Removes a file, or a folder (a non-empty one only with <paramref name="recursive"/>).</summary>
    [Alias("remove-path")]
    [ResponseTimeout("00:05:00")]
    Task RemovePathAsync(Caller caller, string path, bool recursive, CancellationToken cancellationToken);

    /// <summary>
    /// Streams the changes under a folder (and, with <paramref name="recursive"/>, every folder below it)
    /// from the moment the watch is in place until the caller stops reading or the sandbox pauses or
    /// is destroyed; it holds no turn, so it never holds a pause back. A missing folder is INVALID_ARGUMENT.
    /// </summary>
    [Alias("watch-dir")]
    IAsyncEnumerable<FileChange> WatchDirAsync(Caller caller, string path, bool recursive, CancellationToken cancellationToken);

    /// <summary>
    /// Starts a process that outlives this call (kept in the agent's process table, in guest memory:
    /// it survives pause, resume and template cloning) and returns at once. A pause does not wait for it.
    /// </summary>
    [Alias("start-process")]
    Task<ProcessEntry> StartProcessAsync(Caller caller, ProcessStart request, CancellationToken cancellationToken);

    /// <summary>The processes the agent started: running ones and those that ended in the last 10 minutes.</summary>
    [Alias("list-processes")]
    Task<IReadOnlyList<ProcessEntry>> ListProcessesAsync(Caller caller, CancellationToken cancellationToken);

    /// <summary>
    /// Attaches to a process's output: the retained last 1 MiB, live output, then its exit. Several
    /// callers may attach; stopping never touches the process. Like a watch it holds no turn: it ends
    /// when the sandbox pauses or is destroyed (attach again after the resume). An unknown pid is NOT_FOUND.
    /// </summary>
    [Alias("attach-process")]
    IAsyncEnumerable<ProcessOutput> AttachProcessAsync(Caller caller, int pid, CancellationToken cancellationToken);

    /// <summary>Writes to a process's standard input (on a terminal: typed keys).</summary>
    [Alias("send-input")]
    Task SendInputAsync(Caller caller, int pid, byte[] data, CancellationToken cancellationToken);

    /// <summary>Closes a process's standard input: it reads end of file.</summary>
    [Alias("close-input")]
    Task CloseInputAsync(Caller caller, int pid, CancellationToken cancellationToken);

    /// <summary>Sets the size of a process's terminal; its foreground group gets SIGWINCH.</summary>
    [Alias("resize-terminal")]
    Task ResizeTerminalAsync(Caller caller, int pid, TerminalSize size, CancellationToken cancellationToken);

    /// <summary>Sends a signal to a process's whole group.</summary>
    [Alias("signal-process")]
    Task SignalProcessAsync(Caller caller, int pid, ProcessSignal signal, CancellationToken cancellationToken);

    /// <summary>
    /// Snapshots the VM to disk and stops it: a paused sandbox holds files only (no VMM process,
    /// network, memory or CPU). Waits for running execs to end, not for processes started with
    /// <see cref="StartProcessAsync"/> (they are frozen with the guest and run on after the resume);
    /// attached outputs and watches complete. Its timeout stops counting.
    /// </summary>
    [Alias("pause")]
    [Audited("sandbox.pause")]
    [ResponseTimeout("00:10:00")]
    Task<SandboxInfo> PauseAsync(Caller caller);

    /// <summary>
    /// Restores the VM on the same host, exactly as it was (processes, files, memory). With autoResume,
    /// any call that needs the VM does the same first (a wake: one for any number of concurrent calls).
    /// </summary>
    [Alias("resume")]
    [Audited("sandbox.resume")]
    [ResponseTimeout("00:10:00")]
    Task<SandboxInfo> ResumeAsync(Caller caller);

    /// <summary>
    /// Freezes the sandbox into a snapshot template (memory, devices, a disk that no longer changes
    /// with the source); the sandbox goes on running. New sandboxes from it start in that state.
    /// </summary>
    [Alias("create-template")]
    [Audited("template.create")]
    [ResponseTimeout("00:15:00")]
    Task<TemplateInfo> CreateTemplateAsync(Caller caller, string name);

    /// <summary>
    /// Forks the running sandbox into <paramref name="count"/> children on its host, each in its state
    /// (memory, processes, files, network policy) with its own disk, network slot and fresh randomness;
    /// returns once they run. The source runs on in its VM, stopped only for the snapshot (its
    /// connections stay open). Room for every child is reserved first: one that does not fit is
    /// RESOURCE_EXHAUSTED and nothing is created; a paused source is FAILED_PRECONDITION.
    /// </summary>
    [Alias("fork")]
    [Audited("sandbox.fork")]
    [ResponseTimeout("00:15:00")]
    Task<IReadOnlyList<SandboxInfo>> ForkAsync(Caller caller, int count);

    /// <summary>Starts a child of a fork from the fork's frozen state (the silo's call, from the source's grain).</summary>
    [Alias("create-fork-child")]
    [ResponseTimeout("00:10:00")]
    Task<SandboxInfo> CreateForkChildAsync(Caller caller, ForkChild request);

    /// <summary>The sandbox is destroyed <paramref name="seconds"/> of running time from now.</summary>
    [Alias("set-timeout")]
    [Audited("sandbox.set-timeout")]
    Task<SandboxInfo> SetTimeoutAsync(Caller caller, int seconds);

    /// <summary>
    /// Puts a new egress policy in force: at once while it runs (established connections go on), at
    /// the resume while it is paused; kept with the sandbox. A bad entry is INVALID_ARGUMENT naming
    /// it, and changes nothing.
    /// </summary>
    [Alias("update-network")]
    [Audited("sandbox.update-network")]
    Task<SandboxInfo> UpdateNetworkAsync(Caller caller, NetworkPolicy network);

    /// <summary>
    /// Changes how the sandbox stops and starts by itself (what its timeout does, autoPause,
    /// autoResume), running or paused; what the change does not name keeps its value. An idleSeconds
    /// below <see cref="SandboxLifecycle.MinIdleSeconds"/> is INVALID_ARGUMENT naming it, and changes nothing.
    /// </summary>
    [Alias("update-lifecycle")]
    [Audited("sandbox.update-lifecycle")]
    Task<SandboxInfo> UpdateLifecycleAsync(Caller caller, LifecycleChange change);

    /// <summary>
    /// Where port forwarding finds the guest: the sandbox's host and state and, while it runs, the
    /// address its host reaches the guest at. NOT_FOUND for another team's sandbox.
    /// </summary>
    [Alias("guest-route")]
    Task<GuestRoute> GetGuestRouteAsync(Caller caller);

    /// <summary>The TCP ports something listens on in the guest, by port (none unless it runs).</summary>
    [Alias("listening-ports")]
    [ResponseTimeout("00:01:00")]
    Task<IReadOnlyList<ListeningPort>> ListListeningPortsAsync(Caller caller, CancellationToken cancellationToken);
    /// <summary>The latest sample of a running sandbox (at most one sampling interval old); null unless it is running.</summary>
    [Alias("metrics")]
    Task<SandboxMetrics?> GetMetricsAsync(Caller caller);

    /// <summary>The samples of the last <paramref name="minutes"/> (oldest first), taken while it ran; kept in the grain's memory.</summary>
    [Alias("metrics-history")]
    Task<IReadOnlyList<SandboxMetrics>> GetMetricsHistoryAsync(Caller caller, int minutes);

    /// <summary>
    /// A fresh sample every <paramref name="intervalSeconds"/> while the sandbox runs (none while it is
    /// paused); ends when the sandbox ends. Holds no turn: transitions never wait for it.
    /// </summary>
    [Alias("metrics-stream")]
    IAsyncEnumerable<SandboxMetrics> WatchMetricsAsync(Caller caller, int intervalSeconds, CancellationToken cancellationToken);

    /// <summary>Cancels running commands, then removes the VM, its network and its disk.</summary>
    [Alias("destroy")]
    [Audited("sandbox.destroy")]
    [ResponseTimeout("00:05:00")]
    Task DestroyAsync(Caller caller);
}
