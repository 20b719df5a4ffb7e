using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Wrenn.Plugins.Vmm.Qemu;

/// <summary>
/// A minimal QMP client: read the greeting, negotiate capabilities, then run commands one at a time.
/// Asynchronous events interleave with replies on the socket; they are skipped while waiting for a
/// command's reply (nothing here needs them).
/// </summary>
public sealed class QmpClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly Stream _stream;
    private readonly SemaphoreSlim _oneCommand = new(1, 1);

    private QmpClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(_stream, Encoding.UTF8);
    }

    public static async Task<QmpClient> ConnectAsync(string socketPath, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
            var client = new QmpClient(socket);
            var greeting = await client.ReadMessageAsync(cancellationToken);
            if (greeting["QMP"] is null)
                throw new QmpException($"Unexpected QMP greeting: {greeting.ToJsonString()}");
            await client.ExecuteAsync("qmp_capabilities", null, cancellationToken);
            return client;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Runs a command and returns its <c>return</c> value; a QMP error becomes a <see cref="QmpException"/>.</summary>
    public async Task<JsonNode?> ExecuteAsync(string command, JsonObject? arguments, CancellationToken cancellationToken)
    {
        await _oneCommand.WaitAsync(cancellationToken);
        try
        {
            var request = new JsonObject { ["execute"] = command };
            if (arguments is not null)
                request["arguments"] = arguments;
            await _stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToJsonString() + "\n"), cancellationToken);
            while (true)
            {
                var message = await ReadMessageAsync(cancellationToken);
                if (message["event"] is not null)
                    continue;
                if (message["error"] is JsonObject error)
                    throw new QmpException($"QMP '{command}' failed: {error["class"]}: {error["desc"]}");
                return message["return"];
            }
        }
        finally
        {
            _oneCommand.Release();
        }
    }

    private async Task<JsonObject> ReadMessageAsync(CancellationToken cancellationToken)
    {
        var line = await _reader.ReadLineAsync(cancellationToken)
            ?? throw new QmpException("QEMU closed its QMP socket (the VM has exited).");
        return JsonNode.Parse(line) as JsonObject ?? throw new QmpException($"Unreadable QMP message: {line}");
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _socket.Dispose();
        _oneCommand.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>QEMU refused a QMP command or went away.</summary>
public sealed class QmpException(string message) : Exception(message);
