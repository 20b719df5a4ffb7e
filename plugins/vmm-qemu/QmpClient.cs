using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Wrenn.Plugins.Vmm.Qemu;

/// <summary>
/// A minimal QMP client: read the greeting, negotiate capabilities, then run commands one at a time.
/// Asynchronous events interleave with replies on the socket; they are skipped while waiting for a
/// command's reply (nothing here needs them). A command can carry a file descriptor (SCM_RIGHTS),
/// as <c>getfd</c> wants: how a jailed QEMU, which may not open the host's files or spawn a
/// shell, is handed the file to save its state to or load it from.
/// </summary>
public sealed partial class QmpClient : IAsyncDisposable
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
    public Task<JsonNode?> ExecuteAsync(string command, JsonObject? arguments, CancellationToken cancellationToken) =>
        ExecuteAsync(command, arguments, null, cancellationToken);

    /// <summary>Runs a command whose message carries <paramref name="descriptor"/> (e.g. <c>getfd</c>); QEMU gets its own copy.</summary>
    public async Task<JsonNode?> ExecuteAsync(string command, JsonObject? arguments, SafeHandle? descriptor, CancellationToken cancellationToken)
    {
        await _oneCommand.WaitAsync(cancellationToken);
        try
        {
            var request = new JsonObject { ["execute"] = command };
            if (arguments is not null)
                request["arguments"] = arguments;
            var bytes = Encoding.UTF8.GetBytes(request.ToJsonString() + "\n");
            if (descriptor is null)
                await _stream.WriteAsync(bytes, cancellationToken);
            else
                await SendWithDescriptorAsync(bytes, descriptor, cancellationToken);
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

    /// <summary>One sendmsg with the descriptor as SCM_RIGHTS ancillary data (.NET sockets have no API for it).</summary>
    private async Task SendWithDescriptorAsync(byte[] bytes, SafeHandle descriptor, CancellationToken cancellationToken)
    {
        var added = false;
        descriptor.DangerousAddRef(ref added);
        try
        {
            var fd = (int)descriptor.DangerousGetHandle();
            while (true)
            {
                var sent = Send((int)_socket.Handle, bytes, fd);
                if (sent == bytes.Length)
                    return;
                var errno = Marshal.GetLastPInvokeError();
                if (sent >= 0)
                    throw new QmpException($"QMP took {sent} of {bytes.Length} bytes of a message with a file descriptor.");
                if (errno is not (EAgain or EIntr))
                    throw new QmpException($"Sending a file descriptor over QMP failed: errno {errno}.");
                await Task.Delay(5, cancellationToken); // the socket is non-blocking: its buffer is full for now
            }
        }
        finally
        {
            if (added)
                descriptor.DangerousRelease();
        }
    }

    private const int EAgain = 11;
    private const int EIntr = 4;

    private static unsafe long Send(int socket, byte[] bytes, int fd)
    {
        // struct cmsghdr { size_t len; int level; int type; } + one int, padded to 8: 24 bytes.
        var control = stackalloc byte[24];
        new Span<byte>(control, 24).Clear();
        *(ulong*)control = 20;          // CMSG_LEN(sizeof(int))
        *(int*)(control + 8) = 1;       // SOL_SOCKET
        *(int*)(control + 12) = 1;      // SCM_RIGHTS
        *(int*)(control + 16) = fd;
        fixed (byte* data = bytes)
        {
            var iov = new IoVec { Base = data, Length = (nuint)bytes.Length };
            var header = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = 24 };
            return (long)sendmsg(socket, &header, MsgNoSignal);
        }
    }

    private const int MsgNoSignal = 0x4000;

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint sendmsg(int socket, MsgHdr* message, int flags);

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
