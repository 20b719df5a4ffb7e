using System.Threading.Channels;
using Grpc.Core;
using Wrenn.Guest.Agent.Interop;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Processes;

/// <summary>
/// One process in the table: its output fanned out to every attached caller and kept (the last
/// 1 MiB) for callers that attach later, its input, its terminal, and how it ended.
/// </summary>
/// <remarks>
/// Output flows pumps → one bounded channel → one fan-out loop, so every caller sees the same
/// order. The caller of Start is lossless: while it reads slowly, the fan-out waits, the pipes
/// fill and the process slows down, as before. Attached callers never hold the process back: one
/// that falls <see cref="MaxAttachedBacklogBytes"/> behind is cut off with RESOURCE_EXHAUSTED
/// and may attach again.
/// </remarks>
internal sealed class ManagedProcess
{
    public const int RetainedBytes = 1024 * 1024;
    public const long MaxAttachedBacklogBytes = 8 * 1024 * 1024;
    private const int ReadBufferBytes = 64 * 1024;
    private const int SigKill = 9;

    private readonly Lock _gate = new();
    private readonly OutputRetention _retained = new(RetainedBytes);
    private readonly List<Subscription> _subscribers = [];
    private readonly Channel<OutputChunk> _raw = Channel.CreateBounded<OutputChunk>(new BoundedChannelOptions(64) { SingleReader = true });
    private readonly SemaphoreSlim _inputLock = new(1, 1);
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SpawnedProcess _process;
    private readonly Action<ManagedProcess> _exiting;
    private bool _inputClosed;
    private ExitStatus? _exit;

    /// <param name="exiting">Runs once the exit is known, before any caller hears of it (the table forgets a Start process here).</param>
    public ManagedProcess(SpawnedProcess process, StartRequest request, bool detached, DateTimeOffset startedAt, Action<ManagedProcess> exiting)
    {
        _process = process;
        _exiting = exiting;
        Request = request;
        Detached = detached;
        StartedAt = startedAt;
    }

    public int Pid => _process.Id;
    public StartRequest Request { get; }

    /// <summary>Started with StartProcess: it outlives its caller and stays listed after it ends.</summary>
    public bool Detached { get; }

    public bool OnTerminal => _process.Terminal is not null;
    public DateTimeOffset StartedAt { get; }
    public DateTimeOffset? EndedAt { get; private set; }

    public ExitStatus? Exit
    {
        get
        {
            lock (_gate)
                return _exit;
        }
    }

    /// <summary>Completes once the exit has been delivered to every attached caller.</summary>
    public Task Ended => _ended.Task;

    /// <summary>Starts the pumps, the initial input and the timeout. Subscribe the caller of Start before this.</summary>
    public void Run(ILogger logger)
    {
        var pumps = _process.Terminal is { } terminal
            ? [PumpTerminal(terminal)]
            : new[] { PumpAsync(_process.StandardOutput!, OutputKind.Stdout), PumpAsync(_process.StandardError!, OutputKind.Stderr) };
        _ = FanOutAsync(pumps, logger);

        var keepInputOpen = Detached || Request.Stdin || OnTerminal;
        if (!Request.Input.IsEmpty)
            _ = WriteInitialInputAsync(close: !keepInputOpen);
        else if (!keepInputOpen)
            CloseInputNow();

        if (Request.TimeoutSeconds > 0)
            _ = KillAfterAsync(TimeSpan.FromSeconds(Request.TimeoutSeconds));
    }

    /// <summary>
    /// Attaches a caller: it first gets the retained output (none for the caller of Start, which
    /// subscribes before the process runs), then live output, then the exit.
    /// </summary>
    public Subscription Subscribe(bool lossless)
    {
        lock (_gate)
        {
            var subscription = new Subscription(this, lossless, _retained.Snapshot());
            if (_exit is { } exit)
            {
                subscription.Offer(ExitEvent(exit));
                subscription.Complete(null);
            }
            else
            {
                _subscribers.Add(subscription);
            }
            return subscription;
        }
    }

    /// <summary>Signals the process's whole group.</summary>
    public bool Signal(int signal) => Native.kill(-Pid, signal) == 0;

    /// <summary>Kills the group if the process still runs.</summary>
    public void KillIfRunning()
    {
        if (Exit is null)
            Native.kill(-Pid, SigKill);
    }

    /// <summary>Writes to the standard input (pipe or terminal), in order; <paramref name="close"/> closes a pipe after.</summary>
    public async Task WriteInputAsync(ReadOnlyMemory<byte> data, bool close, CancellationToken cancellationToken)
    {
        if (close && OnTerminal)
            throw Errors.FailedPrecondition($"Process {Pid} runs on a terminal, which has no separate end of input: send ^D (0x04) as input, or signal HUP.");
        // One write at a time, in order; a write the caller gave up on keeps the lock until it ends.
        await _inputLock.WaitAsync(cancellationToken);
        Task? write = null;
        try
        {
            if (Exit is { } exit)
                throw Errors.FailedPrecondition($"Process {Pid} has exited ({Describe(exit)}); its input is closed.");
            if (_inputClosed)
                throw Errors.FailedPrecondition($"The standard input of process {Pid} is closed.");
            if (!data.IsEmpty)
            {
                // A write blocks while the process does not read: the deadline ends the wait whether or
                // not the write itself can be cancelled.
                write = _process.Terminal is { } terminal
                    ? Task.Run(() => terminal.Write(data.Span, cancellationToken), CancellationToken.None)
                    : _process.StandardInput!.WriteAsync(data, CancellationToken.None).AsTask();
                await write.WaitAsync(cancellationToken);
            }
            if (close)
                CloseInputNow();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            throw Errors.FailedPrecondition(Exit is { } exit
                ? $"Process {Pid} has exited ({Describe(exit)}); its input is closed."
                : $"The standard input of process {Pid} is closed.");
        }
        finally
        {
            if (write is { IsCompleted: false })
                _ = write.ContinueWith(_ => _inputLock.Release(), TaskScheduler.Default);
            else
                _inputLock.Release();
        }
    }

    public void Resize(int cols, int rows)
    {
        if (_process.Terminal is not { } terminal)
            throw Errors.FailedPrecondition($"Process {Pid} does not run on a terminal: start it with pty to resize it.");
        if (Exit is { } exit)
            throw Errors.FailedPrecondition($"Process {Pid} has exited ({Describe(exit)}); its terminal is gone.");
        try
        {
            terminal.Resize(cols, rows);
        }
        catch (ObjectDisposedException)
        {
            throw Errors.FailedPrecondition($"Process {Pid} has exited; its terminal is gone.");
        }
    }

    public ProcessInfo ToInfo()
    {
        var info = new ProcessInfo
        {
            Pid = Pid,
            Command = Request.Command,
            Tag = Request.Tag,
            Pty = OnTerminal,
            StartedUnixMs = StartedAt.ToUnixTimeMilliseconds(),
        };
        info.Args.AddRange(Request.Args);
        if (Exit is { } exit)
            info.Exited = new Exited { ExitCode = exit.ExitCode, Signal = exit.Signal };
        return info;
    }

    public static string Describe(ExitStatus exit) => exit.Signal != 0 ? $"killed by signal {exit.Signal}" : $"exit code {exit.ExitCode}";

    internal void Unsubscribe(Subscription subscription)
    {
        lock (_gate)
            _subscribers.Remove(subscription);
    }

    private static ProcessEvent ExitEvent(ExitStatus exit) => new() { Exited = new Exited { ExitCode = exit.ExitCode, Signal = exit.Signal } };

    private async Task FanOutAsync(Task[] pumps, ILogger logger)
    {
        var reading = FanOutChunksAsync();
        try
        {
            await Task.WhenAll(pumps);
        }
        catch (Exception e)
        {
            AgentLog.PumpFailed(logger, e, Pid);
        }
        _raw.Writer.TryComplete();
        await reading;

        var exit = await _process.Exited;
        Subscription[] targets;
        lock (_gate)
        {
            _exit = exit;
            EndedAt = DateTimeOffset.UtcNow;
            targets = [.. _subscribers];
            _subscribers.Clear();
        }
        AgentLog.Exited(logger, Pid, exit.ExitCode, exit.Signal);
        _exiting(this);
        var exitEvent = ExitEvent(exit);
        foreach (var target in targets)
        {
            await target.DeliverAsync(exitEvent);
            target.Complete(null);
        }
        _process.StandardInput?.Dispose();
        _process.StandardOutput?.Dispose();
        _process.StandardError?.Dispose();
        _ended.TrySetResult();
    }

    private async Task FanOutChunksAsync()
    {
        await foreach (var chunk in _raw.Reader.ReadAllAsync())
        {
            Subscription[] targets;
            lock (_gate)
            {
                _retained.Add(chunk);
                targets = [.. _subscribers];
            }
            if (targets.Length == 0)
                continue;
            var e = chunk.ToEvent();
            foreach (var target in targets)
                await target.DeliverAsync(e);
        }
    }

    private async Task PumpAsync(Stream stream, OutputKind kind)
    {
        var buffer = new byte[ReadBufferBytes];
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
            await _raw.Writer.WriteAsync(new OutputChunk(kind, buffer.AsSpan(0, n).ToArray()));
    }

    /// <summary>
    /// A terminal is read on a thread of its own (poll + read on the master). Output ends at EIO
    /// (nothing holds the terminal any more) or, once the process has exited, when the terminal
    /// stays quiet: a background child that keeps the terminal open does not hold the exit back.
    /// </summary>
    private Task PumpTerminal(PseudoTerminal terminal)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            var buffer = new byte[ReadBufferBytes];
            try
            {
                while (true)
                {
                    var n = terminal.Read(buffer, 200);
                    if (n > 0)
                        _raw.Writer.WriteAsync(new OutputChunk(OutputKind.Pty, buffer.AsSpan(0, n).ToArray())).AsTask().GetAwaiter().GetResult();
                    else if (n < 0 || _process.Exited.IsCompleted)
                        break;
                }
                done.TrySetResult();
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
            finally
            {
                terminal.Dispose();
            }
        }) { IsBackground = true, Name = $"pty {Pid}" }.Start();
        return done.Task;
    }

    private async Task WriteInitialInputAsync(bool close)
    {
        try
        {
            await WriteInputAsync(Request.Input.Memory, close && !OnTerminal, CancellationToken.None);
        }
        catch (RpcException)
        {
            // The process ended or closed its input before reading it all: nothing more to give it.
        }
    }

    private void CloseInputNow()
    {
        _inputClosed = true;
        _process.StandardInput?.Dispose();
    }

    private async Task KillAfterAsync(TimeSpan timeout)
    {
        if (await Task.WhenAny(Ended, Task.Delay(timeout)) != Ended)
            KillIfRunning();
    }

    /// <summary>One attached caller's queue of events.</summary>
    internal sealed class Subscription : IDisposable
    {
        private readonly ManagedProcess _owner;
        private readonly Channel<ProcessEvent> _events;
        private long _queuedBytes;

        public Subscription(ManagedProcess owner, bool lossless, OutputChunk[] retained)
        {
            _owner = owner;
            Lossless = lossless;
            Retained = retained;
            _events = lossless
                ? Channel.CreateBounded<ProcessEvent>(new BoundedChannelOptions(64) { SingleReader = true })
                : Channel.CreateUnbounded<ProcessEvent>(new UnboundedChannelOptions { SingleReader = true });
        }

        public bool Lossless { get; }
        public OutputChunk[] Retained { get; }

        /// <summary>Started, the retained output, then live events until the exit.</summary>
        public async IAsyncEnumerable<ProcessEvent> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            yield return new ProcessEvent { Started = new Started { Pid = _owner.Pid } };
            foreach (var chunk in Retained)
                yield return chunk.ToEvent();
            await foreach (var e in _events.Reader.ReadAllAsync(cancellationToken))
            {
                if (!Lossless)
                    Interlocked.Add(ref _queuedBytes, -SizeOf(e));
                yield return e;
            }
        }

        internal void Offer(ProcessEvent e) => _events.Writer.TryWrite(e);

        internal async ValueTask DeliverAsync(ProcessEvent e)
        {
            if (Lossless)
            {
                try
                {
                    await _events.Writer.WriteAsync(e);
                }
                catch (ChannelClosedException)
                {
                    // The caller went away.
                }
                return;
            }
            if (Interlocked.Add(ref _queuedBytes, SizeOf(e)) > MaxAttachedBacklogBytes && e.EventCase != ProcessEvent.EventOneofCase.Exited)
            {
                _owner.Unsubscribe(this);
                Complete(Errors.ResourceExhausted($"This caller fell more than {MaxAttachedBacklogBytes / (1024 * 1024)} MiB behind the output of process {_owner.Pid} and was detached; attach again (the last 1 MiB is kept)."));
                return;
            }
            _events.Writer.TryWrite(e);
        }

        internal void Complete(Exception? error) => _events.Writer.TryComplete(error);

        public void Dispose()
        {
            _owner.Unsubscribe(this);
            _events.Writer.TryComplete();
        }

        private static long SizeOf(ProcessEvent e) => e.EventCase switch
        {
            ProcessEvent.EventOneofCase.Stdout => e.Stdout.Data.Length,
            ProcessEvent.EventOneofCase.Stderr => e.Stderr.Data.Length,
            ProcessEvent.EventOneofCase.Pty => e.Pty.Data.Length,
            _ => 0,
        };
    }
}
