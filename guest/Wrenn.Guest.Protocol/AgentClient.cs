using System.Net;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Protocol;

/// <summary>
/// The silo's client for one guest agent: gRPC over HTTP/2 cleartext (Grpc.Net.Client). One
/// connection carries every call; after the VM behind the address is restored from a snapshot the
/// old connection leads nowhere, so call <see cref="DropConnections"/>. Every failure is an
/// <see cref="AgentException"/> with the gRPC status code.
/// </summary>
public sealed class AgentClient : IDisposable
{
    /// <summary>Chunk size for file transfers: large enough to amortise a message, small enough to stream.</summary>
    public const int FileChunkBytes = 256 * 1024;

    /// <summary>The agent refuses larger messages; the client does too.</summary>
    public const int MaxMessageBytes = 16 * 1024 * 1024;

    private static readonly TimeSpan DefaultUnaryTimeout = TimeSpan.FromSeconds(30);
    private readonly Uri _baseAddress;
    private readonly Interceptor? _interceptor;
    private volatile Clients _clients;

    /// <param name="interceptor">Sees every call this client makes (e.g. the silo's counts of execs and failures).</param>
    public AgentClient(Uri baseAddress, Interceptor? interceptor = null)
    {
        _baseAddress = baseAddress;
        _interceptor = interceptor;
        _clients = new Clients(baseAddress, interceptor);
    }

    /// <summary>The agent at <c>http://{address}:{port}/</c>.</summary>
    public static AgentClient For(IPAddress address, int port = AgentEndpoint.DefaultPort, Interceptor? interceptor = null) =>
        new(new Uri($"http://{address}:{port}/"), interceptor);

    public Uri BaseAddress => _baseAddress;

    /// <summary>Closes the connection; the next call opens a new one. Calls in flight on the old one fail.</summary>
    public void DropConnections()
    {
        var old = _clients;
        _clients = new Clients(_baseAddress, _interceptor);
        old.Dispose();
    }

    public void Dispose() => _clients.Dispose();

    // --- System ----------------------------------------------------------------------------------

    public Task<HealthResponse> HealthAsync(CancellationToken cancellationToken, TimeSpan? timeout = null) =>
        AgentCalls.Unary(_clients.System.HealthAsync(new HealthRequest(), Options(cancellationToken, timeout)));

    public async Task<DateTimeOffset> GetTimeAsync(CancellationToken cancellationToken) =>
        FromUnixNanos((await AgentCalls.Unary(_clients.System.GetTimeAsync(new GetTimeRequest(), Options(cancellationToken)))).UnixNanos);

    public async Task<DateTimeOffset> SetTimeAsync(DateTimeOffset time, CancellationToken cancellationToken) =>
        FromUnixNanos((await AgentCalls.Unary(_clients.System.SetTimeAsync(new SetTimeRequest { UnixNanos = ToUnixNanos(time) }, Options(cancellationToken)))).UnixNanos);

    public Task ReseedRandomAsync(ReadOnlyMemory<byte> seed, CancellationToken cancellationToken) =>
        AgentCalls.Unary(_clients.System.ReseedRandomAsync(new ReseedRandomRequest { Seed = ByteString.CopyFrom(seed.Span) }, Options(cancellationToken)));

    /// <summary>Whether the guest has a PTP clock (/dev/ptp0).</summary>
    public async Task<bool> HasPtpClockAsync(CancellationToken cancellationToken) =>
        (await AgentCalls.Unary(_clients.System.HasPtpClockAsync(new HasPtpClockRequest(), Options(cancellationToken)))).Present;

    /// <summary>
    /// After a restore, in one round trip: reseeds the guest RNG with <paramref name="seed"/> and
    /// sets its clock to <paramref name="now"/> (capability <c>clock-restore</c>). Returns the guest's clock after.
    /// </summary>
    public async Task<DateTimeOffset> SettleAsync(DateTimeOffset now, ReadOnlyMemory<byte> seed, CancellationToken cancellationToken) =>
        FromUnixNanos((await AgentCalls.Unary(_clients.System.SettleAsync(
            new SettleRequest { UnixNanos = ToUnixNanos(now), Seed = ByteString.CopyFrom(seed.Span) }, Options(cancellationToken)))).UnixNanos);

    // --- Metrics ---------------------------------------------------------------------------------

    /// <summary>One sample of the guest's CPU, memory, disk and network counters (capability <c>metrics</c>).</summary>
    public Task<GuestSample> SampleAsync(CancellationToken cancellationToken, TimeSpan? timeout = null) =>
        AgentCalls.Unary(_clients.Metrics.SampleAsync(new SampleRequest(), Options(cancellationToken, timeout)));

    // --- Processes -------------------------------------------------------------------------------

    /// <summary>
    /// Starts a process and streams its events (Started, Stdout/Stderr or Pty as output comes,
    /// Exited). Cancelling, or passing <paramref name="timeout"/>, kills its whole process group;
    /// the timeout surfaces as <see cref="StatusCode.DeadlineExceeded"/>.
    /// </summary>
    public async IAsyncEnumerable<ProcessEvent> StartAsync(StartRequest request, [EnumeratorCancellation] CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        using var call = _clients.Process.Start(request, Options(cancellationToken, timeout, unaryDefault: false));
        await foreach (var e in AgentCalls.Read(call.ResponseStream, cancellationToken))
            yield return e;
    }

    /// <summary>Runs a command to its end and collects its output.</summary>
    public Task<ExecResult> ExecAsync(string command, IEnumerable<string>? args = null, CancellationToken cancellationToken = default)
    {
        var request = new StartRequest { Command = command };
        if (args is not null)
            request.Args.AddRange(args);
        return ExecAsync(request, cancellationToken);
    }

    public async Task<ExecResult> ExecAsync(StartRequest request, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        using var stdout = new MemoryStream();
        using var stderr = new MemoryStream();
        await foreach (var e in StartAsync(request, cancellationToken, timeout))
        {
            switch (e.EventCase)
            {
                case ProcessEvent.EventOneofCase.Stdout:
                    e.Stdout.Data.WriteTo(stdout);
                    break;
                case ProcessEvent.EventOneofCase.Pty:
                    e.Pty.Data.WriteTo(stdout);
                    break;
                case ProcessEvent.EventOneofCase.Stderr:
                    e.Stderr.Data.WriteTo(stderr);
                    break;
                case ProcessEvent.EventOneofCase.Exited:
                    return new ExecResult(e.Exited.ExitCode, e.Exited.Signal, stdout.ToArray(), stderr.ToArray());
            }
        }
        throw new AgentException(StatusCode.DataLoss, $"The agent ended '{request.Command}' without an exit event.");
    }

    /// <summary>
    /// Starts a process that outlives this call (capability <c>process-table</c>) and returns at
    /// once with its pid. Its input stays open; attach to its output with <see cref="AttachAsync"/>.
    /// </summary>
    public Task<ProcessInfo> StartProcessAsync(StartRequest request, CancellationToken cancellationToken) =>
        AgentCalls.Unary(_clients.Process.StartProcessAsync(request, Options(cancellationToken)));

    /// <summary>
    /// Streams a process's output: Started, the retained last 1 MiB, live output, then Exited.
    /// Ending the enumeration detaches; the process goes on. An unknown pid is
    /// <see cref="StatusCode.NotFound"/> on the first move.
    /// </summary>
    public async IAsyncEnumerable<ProcessEvent> AttachAsync(int pid, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var call = _clients.Process.Attach(new AttachRequest { Pid = pid }, Options(cancellationToken, timeout: null, unaryDefault: false));
        await foreach (var e in AgentCalls.Read(call.ResponseStream, cancellationToken))
            yield return e;
    }

    /// <summary>Writes to a process's standard input; <paramref name="close"/> closes it after.</summary>
    public Task SendInputAsync(int pid, ReadOnlyMemory<byte> data, bool close, CancellationToken cancellationToken) =>
        AgentCalls.Unary(_clients.Process.SendInputAsync(new SendInputRequest { Pid = pid, Data = ByteString.CopyFrom(data.Span), Close = close }, Options(cancellationToken)));

    /// <summary>Closes a process's standard input (it reads end of file).</summary>
    public Task CloseInputAsync(int pid, CancellationToken cancellationToken) => SendInputAsync(pid, ReadOnlyMemory<byte>.Empty, close: true, cancellationToken);

    /// <summary>
    /// Opens one client-streamed call for a process's input (typed keys, a pipe): cheaper than a call
    /// per write, and in order. End it with <see cref="AgentInput.CompleteAsync"/>.
    /// </summary>
    public AgentInput OpenInput(int pid, CancellationToken cancellationToken) =>
        new(_clients.Process.StreamInput(Options(cancellationToken, timeout: null, unaryDefault: false)), pid);

    /// <summary>Sends a signal to a process's whole group; only the numbers of <see cref="Signal"/> are accepted.</summary>
    public Task SendSignalAsync(int pid, int signal, CancellationToken cancellationToken) =>
        AgentCalls.Unary(_clients.Process.SendSignalAsync(new SendSignalRequest { Pid = pid, Signal = signal }, Options(cancellationToken)));

    public Task SendSignalAsync(int pid, Signal signal, CancellationToken cancellationToken) => SendSignalAsync(pid, (int)signal, cancellationToken);

    /// <summary>Sets the size of a process's terminal (1 to 1000 columns and rows).</summary>
    public Task ResizeTerminalAsync(int pid, int cols, int rows, CancellationToken cancellationToken) =>
        AgentCalls.Unary(_clients.Process.ResizeTerminalAsync(new ResizeTerminalRequest
        {
            Pid = pid,
            Cols = (uint)Math.Max(0, cols),
            Rows = (uint)Math.Max(0, rows),
        }, Options(cancellationToken)));

    /// <summary>The processes the agent started: running ones and recently ended ones (with <see cref="ProcessInfo.Exited"/>).</summary>
    public async Task<IReadOnlyList<ProcessInfo>> ListProcessesAsync(CancellationToken cancellationToken) =>
        (await AgentCalls.Unary(_clients.Process.ListAsync(new ListProcessesRequest(), Options(cancellationToken)))).Processes;

    // --- Files -----------------------------------------------------------------------------------

    public Task<EntryInfo> StatAsync(string path, CancellationToken cancellationToken) =>
        AgentCalls.Unary(_clients.Files.StatAsync(new StatRequest { Path = path }, Options(cancellationToken)));

    public async Task<IReadOnlyList<EntryInfo>> ListAsync(string path, CancellationToken cancellationToken) =>
        (await AgentCalls.Unary(_clients.Files.ListAsync(new ListRequest { Path = path }, Options(cancellationToken)))).Entries;

    public Task<EntryInfo> MakeDirAsync(string path, bool parents, CancellationToken cancellationToken) =>
        AgentCalls.Unary(_clients.Files.MakeDirAsync(new MakeDirRequest { Path = path, Parents = parents }, Options(cancellationToken)));

    public Task<EntryInfo> MoveAsync(string source, string destination, bool overwrite, CancellationToken cancellationToken) =>
        AgentCalls.Unary(_clients.Files.MoveAsync(new MoveRequest { Source = source, Destination = destination, Overwrite = overwrite }, Options(cancellationToken)));

    public Task RemoveAsync(string path, bool recursive, CancellationToken cancellationToken) =>
        AgentCalls.Unary(_clients.Files.RemoveAsync(new RemoveRequest { Path = path, Recursive = recursive }, Options(cancellationToken)));

    /// <summary>Streams a file's bytes in chunks as the agent reads them.</summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadFileAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var call = _clients.Files.Read(new ReadRequest { Path = path, ChunkSize = FileChunkBytes }, Options(cancellationToken, timeout: null, unaryDefault: false));
        await foreach (var chunk in AgentCalls.Read(call.ResponseStream, cancellationToken))
            yield return chunk.Data.Memory;
    }

    /// <summary>Reads a whole (small) file.</summary>
    public async Task<byte[]> ReadAllBytesAsync(string path, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await foreach (var chunk in ReadFileAsync(path, cancellationToken))
            buffer.Write(chunk.Span);
        return buffer.ToArray();
    }

    /// <summary>
    /// Writes <paramref name="content"/> to a file in one client-streamed call, chunk by chunk,
    /// never holding it whole. The file is created or truncated by the first chunk.
    /// </summary>
    public async Task<EntryInfo> WriteFileAsync(string path, Stream content, CancellationToken cancellationToken, bool makeParents = true)
    {
        using var call = _clients.Files.WriteStream(Options(cancellationToken, timeout: null, unaryDefault: false));
        var buffer = new byte[FileChunkBytes];
        var first = true;
        try
        {
            while (true)
            {
                var filled = 0;
                int n;
                while (filled < buffer.Length && (n = await content.ReadAsync(buffer.AsMemory(filled), cancellationToken)) > 0)
                    filled += n;
                if (filled == 0 && !first)
                    break;
                var chunk = new WriteRequest { Data = ByteString.CopyFrom(buffer, 0, filled) };
                if (first)
                {
                    chunk.Path = path;
                    chunk.Truncate = true;
                    chunk.MakeParents = makeParents;
                    first = false;
                }
                await call.RequestStream.WriteAsync(chunk, cancellationToken);
                if (filled < buffer.Length)
                    break;
            }
            await call.RequestStream.CompleteAsync();
            return await call.ResponseAsync;
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException)
        {
            // The agent may have refused the file and ended the call while chunks were still going
            // out; the write then fails with a bare cancel, and the agent's answer says why.
            throw await AgentCalls.AnswerOf(call.ResponseAsync, e);
        }
    }

    /// <summary>Writes one chunk at an offset (the first with <paramref name="truncate"/>), for callers that receive a file in pieces.</summary>
    public Task<EntryInfo> WriteChunkAsync(string path, long offset, ReadOnlyMemory<byte> data, bool truncate, CancellationToken cancellationToken) =>
        AgentCalls.Unary(_clients.Files.WriteAsync(new WriteRequest
        {
            Path = path,
            Data = ByteString.CopyFrom(data.Span),
            Offset = offset,
            Truncate = truncate,
            MakeParents = true,
        }, Options(cancellationToken)));

    public Task<EntryInfo> WriteAllBytesAsync(string path, byte[] content, CancellationToken cancellationToken) =>
        WriteFileAsync(path, new MemoryStream(content, writable: false), cancellationToken);

    /// <summary>
    /// Watches a folder (capability <c>watch</c>): returns once the watch is in place in the guest,
    /// then streams its changes until disposed or cancelled. A missing folder is
    /// <see cref="StatusCode.NotFound"/>, a file <see cref="StatusCode.FailedPrecondition"/>.
    /// </summary>
    public async Task<AgentStream<FileEvent>> WatchAsync(string path, bool recursive, CancellationToken cancellationToken)
    {
        var call = _clients.Files.Watch(new WatchRequest { Path = path, Recursive = recursive }, Options(cancellationToken, timeout: null, unaryDefault: false));
        try
        {
            var headers = await call.ResponseHeadersAsync;
            if (headers.Get(AgentEndpoint.WatchReadyHeader) is null)
            {
                // A refused watch answers with its status alone (no ready header): reading says why.
                await call.ResponseStream.MoveNext(cancellationToken);
                throw new AgentException(StatusCode.Internal, $"The agent answered the watch of '{path}' without {AgentEndpoint.WatchReadyHeader}.");
            }
            return new AgentStream<FileEvent>(call);
        }
        catch (RpcException e)
        {
            call.Dispose();
            throw AgentException.From(e);
        }
        catch
        {
            call.Dispose();
            throw;
        }
    }

    // --- Network ---------------------------------------------------------------------------------

    /// <summary>The TCP sockets listening in the guest, by port (capability <c>listening-ports</c>).</summary>
    public async Task<IReadOnlyList<ListeningSocket>> ListListeningPortsAsync(CancellationToken cancellationToken) =>
        (await AgentCalls.Unary(_clients.Network.ListListeningPortsAsync(new ListListeningPortsRequest(), Options(cancellationToken)))).Sockets;

    private static CallOptions Options(CancellationToken cancellationToken, TimeSpan? timeout = null, bool unaryDefault = true)
    {
        var limit = timeout ?? (unaryDefault ? DefaultUnaryTimeout : null);
        return new CallOptions(deadline: limit is { } t ? DateTime.UtcNow + t : null, cancellationToken: cancellationToken);
    }

    private static long ToUnixNanos(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    private static DateTimeOffset FromUnixNanos(long nanos) => DateTimeOffset.UnixEpoch.AddTicks(nanos / 100);

    /// <summary>One channel (one HTTP/2 connection) and the service clients on it.</summary>
    private sealed class Clients : IDisposable
    {
        private readonly GrpcChannel _channel;

        public Clients(Uri address, Interceptor? interceptor)
        {
            var handler = new SocketsHttpHandler
            {
                ConnectTimeout = TimeSpan.FromSeconds(5),
                // Pings find a dead peer (a VM that was paused under a long stream) without a call failing first.
                KeepAlivePingDelay = TimeSpan.FromSeconds(20),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
                // Past 100 concurrent streams (attached outputs, watches) open a second connection rather than queue.
                EnableMultipleHttp2Connections = true,
                UseProxy = false,
            };
            _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
            {
                HttpHandler = handler,
                DisposeHttpClient = true,
                // The default waits about a second after a failed connect before the next try; a
                // restored guest answers within a few hundred milliseconds, so retry soon and often.
                InitialReconnectBackoff = TimeSpan.FromMilliseconds(50),
                MaxReconnectBackoff = TimeSpan.FromMilliseconds(500),
                MaxReceiveMessageSize = MaxMessageBytes,
                MaxSendMessageSize = MaxMessageBytes,
            });
            Process = new ProcessService.ProcessServiceClient(_channel);
            Files = new FilesystemService.FilesystemServiceClient(_channel);
            System = new SystemService.SystemServiceClient(_channel);
            Network = new NetworkService.NetworkServiceClient(_channel);
            var invoker = interceptor is null ? _channel.CreateCallInvoker() : _channel.Intercept(interceptor);
            Process = new ProcessService.ProcessServiceClient(invoker);
            Files = new FilesystemService.FilesystemServiceClient(invoker);
            System = new SystemService.SystemServiceClient(invoker);
            Metrics = new MetricsService.MetricsServiceClient(invoker);
        }

        public ProcessService.ProcessServiceClient Process { get; }
        public FilesystemService.FilesystemServiceClient Files { get; }
        public SystemService.SystemServiceClient System { get; }
        public MetricsService.MetricsServiceClient Metrics { get; }

        public NetworkService.NetworkServiceClient Network { get; }

        public void Dispose() => _channel.Dispose();
    }
}

/// <summary>The outcome of a command run to its end.</summary>
public sealed record ExecResult(int ExitCode, int Signal, byte[] Stdout, byte[] Stderr)
{
    public string StdoutText => System.Text.Encoding.UTF8.GetString(Stdout);
    public string StderrText => System.Text.Encoding.UTF8.GetString(Stderr);
}
