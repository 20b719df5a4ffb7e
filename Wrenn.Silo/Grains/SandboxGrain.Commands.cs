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

/// <summary>
/// Commands run to their end: shared turns for their whole run, so a pause waits for them and a destroy
/// cancels them; open, they keep the sandbox from idling, and they wake a paused one with autoResume.
/// </summary>
public sealed partial class SandboxGrain
{
    public async Task<ExecOutcome> ExecAsync(Caller caller, ExecRequest request, CancellationToken cancellationToken)
    {
        using var busy = Busy();
        using var turn = await EnterForVmAsync(caller, cancellationToken);
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
        using var busy = Busy();
        using var turn = await EnterForVmAsync(caller, cancellationToken);
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

    private static StartRequest ToStart(ExecRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Command))
            throw new GrainException(ErrorCodes.InvalidArgument, "An exec needs a command: a program on the guest's PATH or an absolute path.");
        var start = new StartRequest { Command = request.Command, Cwd = request.Cwd ?? "" };
        if (request.Stdin is { Length: > MaxInputBytes } large)
            throw new GrainException(ErrorCodes.InvalidArgument, $"An exec's stdin of {large.Length} bytes is more than it takes ({MaxInputBytes / (1024 * 1024)} MiB): write a file and redirect it instead.");
        if (request.Stdin is { } stdin)
            start.Input = Google.Protobuf.ByteString.CopyFrom(stdin); // written, then the input is closed
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
}
