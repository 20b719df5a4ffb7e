using System.Runtime.CompilerServices;
using Google.Protobuf;
using Wrenn.Guest.Protocol.Connect;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Protocol;

/// <summary>
/// The silo's client for one guest agent. Connections are pooled; after the VM behind the address
/// is restored from a snapshot the pooled connections are dead, so call <see cref="DropConnections"/>.
/// </summary>
public sealed class AgentClient : IDisposable
{
    /// <summary>Chunk size for file transfers: large enough to amortise a round trip, small enough to stream.</summary>
    public const int FileChunkBytes = 256 * 1024;

    private static readonly TimeSpan DefaultUnaryTimeout = TimeSpan.FromSeconds(30);
    private readonly Uri _baseAddress;
    private readonly ConnectCodec _codec;
    private HttpClient _http;
    private ConnectClient _connect;

    public AgentClient(Uri baseAddress, ConnectCodec? codec = null)
    {
        _baseAddress = baseAddress;
        _codec = codec ?? ConnectCodec.Proto;
        (_http, _connect) = Connect();
    }

    /// <summary>The agent at <c>http://{address}:{port}/</c>.</summary>
    public static AgentClient For(System.Net.IPAddress address, int port = AgentEndpoint.DefaultPort) =>
        new(new Uri($"http://{address}:{port}/"));

    public Uri BaseAddress => _baseAddress;

    /// <summary>Closes every pooled connection; the next call opens a new one.</summary>
    public void DropConnections()
    {
        var old = _http;
        (_http, _connect) = Connect();
        old.Dispose();
    }

    public Task<HealthResponse> HealthAsync(CancellationToken cancellationToken, TimeSpan? timeout = null) =>
        Unary(AgentEndpoint.System.Health, new HealthRequest(), HealthResponse.Parser, cancellationToken, timeout);

    public async Task<DateTimeOffset> GetTimeAsync(CancellationToken cancellationToken) =>
        FromUnixNanos((await Unary(AgentEndpoint.System.GetTime, new GetTimeRequest(), TimeResponse.Parser, cancellationToken)).UnixNanos);

    public async Task<DateTimeOffset> SetTimeAsync(DateTimeOffset time, CancellationToken cancellationToken) =>
        FromUnixNanos((await Unary(AgentEndpoint.System.SetTime,
            new SetTimeRequest { UnixNanos = (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100 },
            TimeResponse.Parser, cancellationToken)).UnixNanos);

    public Task ReseedRandomAsync(ReadOnlyMemory<byte> seed, CancellationToken cancellationToken) =>
        Unary(AgentEndpoint.System.ReseedRandom, new ReseedRandomRequest { Seed = ByteString.CopyFrom(seed.Span) },
            ReseedRandomResponse.Parser, cancellationToken);

    /// <summary>Whether the guest has a PTP clock (/dev/ptp0).</summary>
    public async Task<bool> HasPtpClockAsync(CancellationToken cancellationToken) =>
        (await Unary(AgentEndpoint.System.HasPtpClock, new HasPtpClockRequest(), HasPtpClockResponse.Parser, cancellationToken)).Present;

    /// <summary>
    /// Starts a process and streams its events (Started, Stdout/Stderr as output comes, Exited).
    /// Cancelling, or passing <paramref name="timeout"/>, kills its whole process group; the timeout
    /// surfaces as <see cref="ConnectCode.DeadlineExceeded"/>.
    /// </summary>
    public IAsyncEnumerable<ProcessEvent> StartAsync(StartRequest request, CancellationToken cancellationToken, TimeSpan? timeout = null) =>
        _connect.ServerStreamAsync(AgentEndpoint.Process.Start, request, ProcessEvent.Parser, timeout, cancellationToken);

    /// <summary>Runs a command to its end and collects its output.</summary>
    public async Task<ExecResult> ExecAsync(string command, IEnumerable<string>? args = null, CancellationToken cancellationToken = default)
    {
        var request = new StartRequest { Command = command };
        if (args is not null)
            request.Args.AddRange(args);
        return await ExecAsync(request, cancellationToken);
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
                case ProcessEvent.EventOneofCase.Stderr:
                    e.Stderr.Data.WriteTo(stderr);
                    break;
                case ProcessEvent.EventOneofCase.Exited:
                    return new ExecResult(e.Exited.ExitCode, e.Exited.Signal, stdout.ToArray(), stderr.ToArray());
            }
        }
        throw new ConnectException(ConnectCode.DataLoss, $"The agent ended '{request.Command}' without an exit event.");
    }

    public Task SendInputAsync(int pid, ReadOnlyMemory<byte> data, bool close, CancellationToken cancellationToken) =>
        Unary(AgentEndpoint.Process.SendInput, new SendInputRequest { Pid = pid, Data = ByteString.CopyFrom(data.Span), Close = close },
            SendInputResponse.Parser, cancellationToken);

    public Task SendSignalAsync(int pid, int signal, CancellationToken cancellationToken) =>
        Unary(AgentEndpoint.Process.SendSignal, new SendSignalRequest { Pid = pid, Signal = signal }, SendSignalResponse.Parser, cancellationToken);

    public async Task<IReadOnlyList<ProcessInfo>> ListProcessesAsync(CancellationToken cancellationToken) =>
        (await Unary(AgentEndpoint.Process.List, new ListProcessesRequest(), ListProcessesResponse.Parser, cancellationToken)).Processes;

    public Task<EntryInfo> StatAsync(string path, CancellationToken cancellationToken) =>
        Unary(AgentEndpoint.Filesystem.Stat, new StatRequest { Path = path }, EntryInfo.Parser, cancellationToken);

    public async Task<IReadOnlyList<EntryInfo>> ListAsync(string path, CancellationToken cancellationToken) =>
        (await Unary(AgentEndpoint.Filesystem.List, new ListRequest { Path = path }, ListResponse.Parser, cancellationToken)).Entries;

    public Task<EntryInfo> MakeDirAsync(string path, bool parents, CancellationToken cancellationToken) =>
        Unary(AgentEndpoint.Filesystem.MakeDir, new MakeDirRequest { Path = path, Parents = parents }, EntryInfo.Parser, cancellationToken);

    public Task<EntryInfo> MoveAsync(string source, string destination, bool overwrite, CancellationToken cancellationToken) =>
        Unary(AgentEndpoint.Filesystem.Move, new MoveRequest { Source = source, Destination = destination, Overwrite = overwrite },
            EntryInfo.Parser, cancellationToken);

    public Task RemoveAsync(string path, bool recursive, CancellationToken cancellationToken) =>
        Unary(AgentEndpoint.Filesystem.Remove, new RemoveRequest { Path = path, Recursive = recursive }, RemoveResponse.Parser, cancellationToken);

    /// <summary>Streams a file's bytes in chunks as the agent reads them.</summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadFileAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var chunk in _connect.ServerStreamAsync(AgentEndpoint.Filesystem.Read,
                           new ReadRequest { Path = path, ChunkSize = FileChunkBytes }, ReadChunk.Parser, timeout: null, cancellationToken))
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

    /// <summary>Writes <paramref name="content"/> to a file chunk by chunk, never holding it whole.</summary>
    public async Task<EntryInfo> WriteFileAsync(string path, Stream content, CancellationToken cancellationToken, bool makeParents = true)
    {
        var buffer = new byte[FileChunkBytes];
        long offset = 0;
        EntryInfo? info = null;
        while (true)
        {
            var filled = 0;
            int n;
            while (filled < buffer.Length && (n = await content.ReadAsync(buffer.AsMemory(filled), cancellationToken)) > 0)
                filled += n;
            if (filled == 0 && info is not null)
                return info;
            info = await Unary(AgentEndpoint.Filesystem.Write, new WriteRequest
            {
                Path = path,
                Data = ByteString.CopyFrom(buffer, 0, filled),
                Offset = offset,
                Truncate = offset == 0,
                MakeParents = makeParents,
            }, EntryInfo.Parser, cancellationToken);
            offset += filled;
            if (filled < buffer.Length)
                return info;
        }
    }

    /// <summary>Writes one chunk at an offset (the first with <paramref name="truncate"/>), for callers that stream a file in pieces.</summary>
    public Task<EntryInfo> WriteChunkAsync(string path, long offset, ReadOnlyMemory<byte> data, bool truncate, CancellationToken cancellationToken) =>
        Unary(AgentEndpoint.Filesystem.Write, new WriteRequest
        {
            Path = path,
            Data = ByteString.CopyFrom(data.Span),
            Offset = offset,
            Truncate = truncate,
            MakeParents = true,
        }, EntryInfo.Parser, cancellationToken);

    public Task<EntryInfo> WriteAllBytesAsync(string path, byte[] content, CancellationToken cancellationToken) =>
        WriteFileAsync(path, new MemoryStream(content, writable: false), cancellationToken);

    public void Dispose() => _http.Dispose();

    private Task<TResponse> Unary<TRequest, TResponse>(string procedure, TRequest request, MessageParser<TResponse> parser,
        CancellationToken cancellationToken, TimeSpan? timeout = null)
        where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse> =>
        _connect.UnaryAsync(procedure, request, parser, timeout ?? DefaultUnaryTimeout, cancellationToken);

    private (HttpClient, ConnectClient) Connect()
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseProxy = false,
        };
        // No total timeout: streams (exec output) last as long as the command; unary calls set their own.
        var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        return (http, new ConnectClient(http, _baseAddress, _codec));
    }

    private static DateTimeOffset FromUnixNanos(long nanos) => DateTimeOffset.UnixEpoch.AddTicks(nanos / 100);
}

/// <summary>The outcome of a command run to its end.</summary>
public sealed record ExecResult(int ExitCode, int Signal, byte[] Stdout, byte[] Stderr)
{
    public string StdoutText => System.Text.Encoding.UTF8.GetString(Stdout);
    public string StderrText => System.Text.Encoding.UTF8.GetString(Stderr);
}
