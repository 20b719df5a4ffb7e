using System.Collections.Concurrent;
using Grpc.Core;
using Wrenn.Guest.Agent.Interop;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Processes;

/// <summary>
/// The processes this agent started, kept in guest memory (so the table survives pause/resume and
/// template cloning with the rest of the guest). Each runs in its own session and process group
/// (posix_spawn with POSIX_SPAWN_SETSID, so the pid is also the group id), so that a signal or a
/// kill on cancel reaches everything the command started; the agent reaps them itself
/// (<see cref="SpawnedProcess"/>). A process started by Start leaves the table when it exits; one
/// started by StartProcess stays listed with its exit for <see cref="AgentOptions.EndedProcessRetention"/>.
/// </summary>
internal sealed class ProcessTable(AgentOptions options, ILogger<ProcessTable> logger)
{
    public const string StandardPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    public const string DefaultTerm = "xterm-256color";
    private const int EPerm = 1;
    private const int ENoent = 2;
    private const int EAcces = 13;

    /// <summary>The signals a caller may send (SendSignal), by number.</summary>
    private static readonly HashSet<int> AllowedSignals = [.. Enum.GetValues<Wrenn.Guest.Protocol.V1.Signal>().Where(s => s != Wrenn.Guest.Protocol.V1.Signal.Unspecified).Select(s => (int)s)];

    private readonly ConcurrentDictionary<int, ManagedProcess> _processes = new();

    /// <summary>
    /// Starts a process. <paramref name="owner"/>: subscribe the caller of Start (lossless) before
    /// any output flows, so it sees all of it and nothing twice.
    /// </summary>
    public (ManagedProcess Process, ManagedProcess.Subscription? Owner) Start(StartRequest request, bool detached)
    {
        var launch = ProcessLaunch.Prepare(request);
        SpawnedProcess spawned;
        try
        {
            spawned = request.Pty is { } pty
                ? SpawnedProcess.StartOnTerminal(launch.Program, launch.Args, launch.Environment, launch.Cwd, (int)pty.Cols, (int)pty.Rows)
                : SpawnedProcess.Start(launch.Program, launch.Args, launch.Environment, launch.Cwd);
        }
        catch (SpawnException e)
        {
            throw new RpcException(new Status(e.Errno switch
            {
                EAcces or EPerm => StatusCode.PermissionDenied,
                ENoent => StatusCode.NotFound,
                _ => StatusCode.FailedPrecondition,
            }, $"Could not start '{request.Command}': {e.Message}"));
        }

        var process = new ManagedProcess(spawned, request, detached, DateTimeOffset.UtcNow, Exiting);
        var owner = detached ? null : process.Subscribe(lossless: true);
        _processes[process.Pid] = process;
        AgentLog.Started(logger, process.Pid, request.Command, launch.User);
        process.Run(logger);
        _ = ForgetWhenDueAsync(process);
        return (process, owner);
    }

    /// <summary>A process this agent started (running, or ended and still listed).</summary>
    public ManagedProcess Find(int pid)
    {
        if (pid == 1)
            throw Errors.InvalidArgument("Pid 1 is the guest's init: the agent never started it, and signalling or feeding it would take the sandbox down.");
        return _processes.TryGetValue(pid, out var process)
            ? process
            : throw Errors.NotFound($"No process with pid {pid} was started by this agent (or it ended long enough ago to be forgotten).");
    }

    public IEnumerable<ManagedProcess> All => _processes.Values.OrderBy(p => p.StartedAt);

    /// <summary>Signals the process's whole group; only the signals of the protocol's Signal enum.</summary>
    public void Signal(int pid, int signal)
    {
        if (!AllowedSignals.Contains(signal))
            throw Errors.InvalidArgument($"Signal {signal} is not one a caller may send: use HUP (1), INT (2), QUIT (3), KILL (9), USR1 (10), USR2 (12), TERM (15), CONT (18) or STOP (19).");
        var process = Find(pid);
        if (process.Exit is { } exit)
            throw Errors.FailedPrecondition($"Process {pid} has already exited ({ManagedProcess.Describe(exit)}).");
        if (!process.Signal(signal))
            throw Errors.FailedPrecondition($"Process group {pid} is gone (errno {Native.LastError}).");
    }

    /// <summary>The caller of Start went away before the exit: nobody will read the output, so end the group.</summary>
    public void KillIfRunning(ManagedProcess process)
    {
        if (process.Exit is null)
        {
            AgentLog.KilledOnCancel(logger, process.Pid, process.Request.Command);
            process.KillIfRunning();
        }
    }

    /// <summary>Kills every group this agent started: the agent is stopping and nobody will read them.</summary>
    public void KillAll()
    {
        foreach (var process in _processes.Values)
            process.KillIfRunning();
    }

    /// <summary>A Start process leaves the table before its caller hears of the exit; a StartProcess one stays a while.</summary>
    private void Exiting(ManagedProcess process)
    {
        if (!process.Detached)
            _processes.TryRemove(new KeyValuePair<int, ManagedProcess>(process.Pid, process));
    }

    private async Task ForgetWhenDueAsync(ManagedProcess process)
    {
        if (!process.Detached)
            return;
        await process.Ended;
        ForgetOldestEnded();
        await Task.Delay(options.EndedProcessRetention);
        _processes.TryRemove(new KeyValuePair<int, ManagedProcess>(process.Pid, process));
    }

    /// <summary>Keeps at most <see cref="AgentOptions.MaxEndedProcesses"/> ended ones: each holds its retained output.</summary>
    private void ForgetOldestEnded()
    {
        var ended = _processes.Values.Where(p => p.EndedAt is not null).OrderBy(p => p.EndedAt).ToList();
        foreach (var old in ended.Take(Math.Max(0, ended.Count - options.MaxEndedProcesses)))
            _processes.TryRemove(new KeyValuePair<int, ManagedProcess>(old.Pid, old));
    }
}
