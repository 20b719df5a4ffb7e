using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Guest.Protocol;
using Grpc.Core;
using Wrenn.Guest.Protocol.V1;
using Wrenn.Silo.Grains.Turns;

namespace Wrenn.Silo.Grains;

/// <summary>Commands and files: shared turns, which run together but never alongside a transition.</summary>
public sealed partial class SandboxGrain
{
    /// <summary>Output events buffered between the agent and a stream's consumer (the engine pulls one batch at a time).</summary>
    private const int StreamBuffer = 256;

    public async Task<ExecOutcome> ExecAsync(Caller caller, ExecRequest request, CancellationToken cancellationToken)
    {
        using var turn = await _turns.EnterSharedAsync(cancellationToken);
        var agent = RunningAgent(caller);
        try
        {
            var result = await agent.ExecAsync(ToStart(request), turn.Token, TimeoutOf(request));
            return new ExecOutcome(result.ExitCode, Encoding.UTF8.GetString(result.Stdout), Encoding.UTF8.GetString(result.Stderr));
        }
        catch (Exception e) when (e is AgentException or OperationCanceledException)
        {
            throw ExecFailed(e, request, turn);
        }
    }

    public async IAsyncEnumerable<ExecEvent> ExecStreamAsync(Caller caller, ExecRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The engine serves each MoveNext outside the grain's turns: the turn is held here, for the stream's whole life.
        using var turn = await _turns.EnterSharedAsync(cancellationToken);
        var agent = RunningAgent(caller);
        var start = ToStart(request);
        var timeout = TimeoutOf(request);
        var events = Channel.CreateBounded<ExecEvent>(new BoundedChannelOptions(StreamBuffer) { SingleReader = true, SingleWriter = true });
        var pump = Task.Run(async () =>
        {
            try
            {
                await foreach (var next in agent.StartAsync(start, turn.Token, timeout).WithCancellation(turn.Token))
                    await events.Writer.WriteAsync(ToEvent(next), turn.Token);
                events.Writer.TryComplete();
            }
            catch (Exception e) when (e is AgentException or OperationCanceledException)
            {
                events.Writer.TryComplete(ExecFailed(e, request, turn));
            }
        }, CancellationToken.None);
        try
        {
            await foreach (var next in events.Reader.ReadAllAsync(CancellationToken.None))
                yield return next;
        }
        finally
        {
            turn.Cancel();
            await pump;
        }
    }

    public async IAsyncEnumerable<byte[]> ReadFileAsync(Caller caller, string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var turn = await _turns.EnterSharedAsync(cancellationToken);
        var agent = RunningAgent(caller);
        await using var chunks = agent.ReadFileAsync(path, turn.Token).GetAsyncEnumerator(turn.Token);
        while (true)
        {
            try
            {
                if (!await chunks.MoveNextAsync())
                    yield break;
            }
            catch (AgentException e)
            {
                throw FileFailed(e, path);
            }
            yield return chunks.Current.ToArray();
        }
    }

    public async Task<FileEntry> WriteFileAsync(Caller caller, string path, byte[] content, CancellationToken cancellationToken)
    {
        using var turn = await _turns.EnterSharedAsync(cancellationToken);
        var agent = RunningAgent(caller);
        try
        {
            return ToEntry(await agent.WriteAllBytesAsync(path, content, turn.Token));
        }
        catch (AgentException e)
        {
            throw FileFailed(e, path);
        }
    }

    public async Task<FileEntry> WriteFileChunkAsync(Caller caller, string path, long offset, byte[] data, bool truncate, CancellationToken cancellationToken)
    {
        using var turn = await _turns.EnterSharedAsync(cancellationToken);
        var agent = RunningAgent(caller);
        if (offset < 0)
            throw new GrainException(ErrorCodes.InvalidArgument, $"A write offset cannot be negative (got {offset}).");
        try
        {
            return ToEntry(await agent.WriteChunkAsync(path, offset, data, truncate, turn.Token));
        }
        catch (AgentException e)
        {
            throw FileFailed(e, path);
        }
    }

    public async Task<IReadOnlyList<FileEntry>> ListDirAsync(Caller caller, string path, CancellationToken cancellationToken)
    {
        using var turn = await _turns.EnterSharedAsync(cancellationToken);
        var agent = RunningAgent(caller);
        try
        {
            return (await agent.ListAsync(path, turn.Token)).Select(ToEntry).ToList();
        }
        catch (AgentException e)
        {
            throw FileFailed(e, path);
        }
    }

    private AgentClient RunningAgent(Caller caller)
    {
        var record = Visible(caller);
        if (record.State != SandboxState.Running || _agent is null)
            throw NotRunning(record);
        return _legacyAgent is null ? _agent : throw new GrainException(ErrorCodes.FailedPrecondition, _legacyAgent.Message);
    }

    private static ExecEvent ToEvent(ProcessEvent next) => next.EventCase switch
    {
        ProcessEvent.EventOneofCase.Started => new ExecEvent(ExecEventKind.Started, Pid: next.Started.Pid),
        ProcessEvent.EventOneofCase.Stdout => new ExecEvent(ExecEventKind.Stdout, Data: next.Stdout.Data.ToByteArray()),
        ProcessEvent.EventOneofCase.Stderr => new ExecEvent(ExecEventKind.Stderr, Data: next.Stderr.Data.ToByteArray()),
        _ => new ExecEvent(ExecEventKind.Exited, ExitCode: next.Exited.ExitCode),
    };

    private GrainException ExecFailed(Exception e, ExecRequest request, Turn turn) => e switch
    {
        AgentException { Code: StatusCode.DeadlineExceeded } =>
            new(ErrorCodes.DeadlineExceeded, $"'{request.Command}' ran past its timeout of {request.TimeoutSeconds} s and was killed."),
        _ when turn.CancelledByGate => new(ErrorCodes.Cancelled, $"'{request.Command}' was cancelled: sandbox {Id} was destroyed while it ran."),
        _ when turn.Token.IsCancellationRequested => new(ErrorCodes.Cancelled, $"'{request.Command}' was cancelled."),
        AgentException { Code: StatusCode.NotFound or StatusCode.InvalidArgument or StatusCode.PermissionDenied } c =>
            new(ErrorCodes.InvalidArgument, $"'{request.Command}' could not be started: {c.Message}"),
        _ => new(ErrorCodes.Unavailable, $"Sandbox {Id}'s agent did not answer: {e.Message}"),
    };

    private static GrainException FileFailed(AgentException e, string path) => e.Code switch
    {
        StatusCode.NotFound => new(ErrorCodes.NotFound, $"{path}: no such file or directory in the sandbox."),
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.AlreadyExists or StatusCode.PermissionDenied =>
            new(ErrorCodes.InvalidArgument, $"{path}: {e.Message}"),
        _ => new(ErrorCodes.Unavailable, $"{path}: the sandbox's agent did not answer ({e.Message})."),
    };

    private static StartRequest ToStart(ExecRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Command))
            throw new GrainException(ErrorCodes.InvalidArgument, "An exec needs a command: a program on the guest's PATH or an absolute path.");
        var start = new StartRequest { Command = request.Command, Cwd = request.Cwd ?? "" };
        if (request.Args is not null)
            start.Args.AddRange(request.Args);
        foreach (var (name, value) in request.Env ?? new Dictionary<string, string>())
            start.Env[name] = value;
        return start;
    }

    private static TimeSpan? TimeoutOf(ExecRequest request) =>
        request.TimeoutSeconds switch
        {
            null => null,
            <= 0 => throw new GrainException(ErrorCodes.InvalidArgument, $"An exec timeout must be at least 1 second (got {request.TimeoutSeconds})."),
            var s => TimeSpan.FromSeconds(s.Value),
        };

    private static FileEntry ToEntry(EntryInfo entry) =>
        new(entry.Path, entry.Name, entry.Type == EntryType.Directory, entry.Size,
            entry.ModifiedUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(entry.ModifiedUnixMs) : null);
}
