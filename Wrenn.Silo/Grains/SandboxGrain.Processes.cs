using Grpc.Core;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Silo.Grains;

/// <summary>
/// Processes that outlive a call (the agent's process table, in guest memory: they are frozen and
/// restored with the guest). Starting, listing, input, resize and signals are short shared turns; an
/// attached output holds no turn, so a pause never waits for a process, and ends when the sandbox
/// pauses or is destroyed (attach again after the resume: the agent replays the retained output).
/// </summary>
public sealed partial class SandboxGrain
{
    /// <summary>Bounds one piece of input (and an exec's stdin): well under the agent's message limit.</summary>
    public const int MaxInputBytes = 8 * 1024 * 1024;

    public Task<ProcessEntry> StartProcessAsync(Caller caller, ProcessStart request, CancellationToken cancellationToken) =>
        CallAgentAsync(caller, $"Starting '{request.Command}'", async (agent, token) => ToEntry(await agent.StartProcessAsync(ToStart(request), token)),
            e => StartFailed(e, request.Command), cancellationToken);

    public Task<IReadOnlyList<ProcessEntry>> ListProcessesAsync(Caller caller, CancellationToken cancellationToken) =>
        CallAgentAsync<IReadOnlyList<ProcessEntry>>(caller, "Listing processes", async (agent, token) => (await agent.ListProcessesAsync(token)).Select(ToEntry).ToList(),
            e => ProcessFailed(e, pid: null), cancellationToken);

    public IAsyncEnumerable<ProcessOutput> AttachProcessAsync(Caller caller, int pid, CancellationToken cancellationToken) =>
        DetachedStreamAsync<ProcessEvent, ProcessOutput>(caller, (agent, token) =>
        {
            CheckPid(pid);
            return Task.FromResult(agent.AttachAsync(pid, token));
        }, ToOutput, e => ProcessFailed(e, pid), cancellationToken);

    public Task SendInputAsync(Caller caller, int pid, byte[] data, CancellationToken cancellationToken) =>
        CallAgentAsync(caller, $"Input to process {pid}", (agent, token) =>
        {
            CheckPid(pid);
            if (data.Length > MaxInputBytes)
                throw new GrainException(ErrorCodes.InvalidArgument, $"Input of {data.Length} bytes is more than one call takes ({MaxInputBytes / (1024 * 1024)} MiB): send it in pieces, or write a file.");
            return agent.SendInputAsync(pid, data, close: false, token);
        }, e => ProcessFailed(e, pid), cancellationToken);

    public Task CloseInputAsync(Caller caller, int pid, CancellationToken cancellationToken) =>
        CallAgentAsync(caller, $"Closing the input of process {pid}", (agent, token) =>
        {
            CheckPid(pid);
            return agent.CloseInputAsync(pid, token);
        }, e => ProcessFailed(e, pid), cancellationToken);

    public Task ResizeTerminalAsync(Caller caller, int pid, TerminalSize size, CancellationToken cancellationToken) =>
        CallAgentAsync(caller, $"Resizing the terminal of process {pid}", (agent, token) =>
        {
            CheckPid(pid);
            CheckSize(size);
            return agent.ResizeTerminalAsync(pid, size.Cols, size.Rows, token);
        }, e => ProcessFailed(e, pid), cancellationToken);

    public Task SignalProcessAsync(Caller caller, int pid, ProcessSignal signal, CancellationToken cancellationToken) =>
        CallAgentAsync(caller, $"Signalling process {pid}", (agent, token) =>
        {
            CheckPid(pid);
            if (!Enum.IsDefined(signal))
                throw new GrainException(ErrorCodes.InvalidArgument, $"Signal {(int)signal} is not one a caller may send: use HUP, INT, QUIT, KILL, TERM, STOP, CONT, USR1 or USR2.");
            return agent.SendSignalAsync(pid, (int)signal, token);
        }, e => ProcessFailed(e, pid), cancellationToken);

    private static void CheckPid(int pid)
    {
        if (pid < 1)
            throw new GrainException(ErrorCodes.InvalidArgument, $"{pid} is not a process id: pids are positive (startProcess and processes give them).");
    }

    private static void CheckSize(TerminalSize size)
    {
        if (!size.IsValid)
            throw new GrainException(ErrorCodes.InvalidArgument, $"A terminal of {size.Cols}×{size.Rows} is out of range: cols and rows must be 1 to {TerminalSize.Max}.");
    }

    private static StartRequest ToStart(ProcessStart request)
    {
        if (string.IsNullOrWhiteSpace(request.Command))
            throw new GrainException(ErrorCodes.InvalidArgument, "A process needs a command: a program on the guest's PATH or an absolute path.");
        if (request.TimeoutSeconds is <= 0)
            throw new GrainException(ErrorCodes.InvalidArgument, $"A process's timeout must be at least 1 second (got {request.TimeoutSeconds}).");
        var start = new StartRequest { Command = request.Command, Cwd = request.Cwd ?? "", Tag = request.Tag ?? "", TimeoutSeconds = (uint)(request.TimeoutSeconds ?? 0) };
        if (request.Pty is { } size)
        {
            CheckSize(size);
            start.Pty = new Pty { Cols = (uint)size.Cols, Rows = (uint)size.Rows };
        }
        if (request.Args is not null)
            start.Args.AddRange(request.Args);
        foreach (var (name, value) in request.Env ?? new Dictionary<string, string>())
            start.Env[name] = value;
        return start;
    }

    private static ProcessEntry ToEntry(ProcessInfo process) =>
        new(process.Pid, process.Tag.Length > 0 ? process.Tag : null, process.Command, [.. process.Args], process.Pty,
            DateTimeOffset.FromUnixTimeMilliseconds(process.StartedUnixMs), process.Exited?.ExitCode);

    private static ProcessOutput? ToOutput(ProcessEvent next) => next.EventCase switch
    {
        ProcessEvent.EventOneofCase.Stdout => new(ProcessOutputKind.Stdout, next.Stdout.Data.ToByteArray()),
        ProcessEvent.EventOneofCase.Stderr => new(ProcessOutputKind.Stderr, next.Stderr.Data.ToByteArray()),
        ProcessEvent.EventOneofCase.Pty => new(ProcessOutputKind.Pty, next.Pty.Data.ToByteArray()),
        ProcessEvent.EventOneofCase.Exited => new(ProcessOutputKind.Exited, ExitCode: next.Exited.ExitCode),
        _ => null, // Started: the caller named the pid already
    };

    /// <summary>A command that cannot be started is the caller's mistake, as for exec.</summary>
    private GrainException StartFailed(AgentException e, string command) => e.Code switch
    {
        StatusCode.NotFound or StatusCode.InvalidArgument or StatusCode.PermissionDenied or StatusCode.FailedPrecondition =>
            new(ErrorCodes.InvalidArgument, $"'{command}' could not be started: {e.Message}"),
        StatusCode.ResourceExhausted => new(ErrorCodes.ResourceExhausted, $"'{command}' could not be started: {e.Message}"),
        _ => new(ErrorCodes.Unavailable, $"Sandbox {Id}'s agent did not answer: {e.Message}"),
    };

    /// <summary>
    /// Calls about a pid: one the agent did not start (or forgot) is NOT_FOUND; a call its state
    /// forbids (input to an ended process, resizing a process without a terminal) FAILED_PRECONDITION.
    /// </summary>
    private GrainException ProcessFailed(AgentException e, int? pid) => e.Code switch
    {
        StatusCode.NotFound => new(ErrorCodes.NotFound, $"Sandbox {Id}: {e.Message}"),
        StatusCode.InvalidArgument => new(ErrorCodes.InvalidArgument, e.Message),
        StatusCode.FailedPrecondition => new(ErrorCodes.FailedPrecondition, e.Message),
        StatusCode.ResourceExhausted => new(ErrorCodes.ResourceExhausted, e.Message),
        _ => new(ErrorCodes.Unavailable, $"Sandbox {Id}'s agent did not answer{(pid is null ? "" : $" about process {pid}")}: {e.Message}"),
    };
}
