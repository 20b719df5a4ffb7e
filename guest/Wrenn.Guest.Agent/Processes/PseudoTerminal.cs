using Wrenn.Guest.Agent.Interop;

namespace Wrenn.Guest.Agent.Processes;

/// <summary>
/// The master side of a pseudo-terminal (posix_openpt). The agent keeps only the master; the child
/// opens the slave itself (see <see cref="SpawnedProcess.StartOnTerminal"/>), so once every holder
/// of the slave is gone a read on the master fails with EIO, which ends the output.
/// </summary>
internal sealed unsafe class PseudoTerminal : IDisposable
{
    public const int MaxSize = 1000;
    private const short PollOut = 0x4;
    private readonly int _master;
    private readonly Lock _gate = new();
    private int _disposed;

    private PseudoTerminal(int master, string slavePath)
    {
        _master = master;
        SlavePath = slavePath;
    }

    /// <summary>/dev/pts/N.</summary>
    public string SlavePath { get; }

    public static PseudoTerminal Open(int cols, int rows)
    {
        var master = Native.posix_openpt(Native.ORdwr | Native.ONoctty | Native.OCloexec | Native.ONonblock);
        if (master < 0)
            throw new SpawnException(Native.LastError, $"posix_openpt failed: {Native.ErrorText(Native.LastError)}");
        try
        {
            if (Native.grantpt(master) != 0 || Native.unlockpt(master) != 0)
                throw new SpawnException(Native.LastError, $"Unlocking the pseudo-terminal failed: {Native.ErrorText(Native.LastError)}");
            var name = stackalloc byte[128];
            var error = Native.ptsname_r(master, name, 128);
            if (error != 0)
                throw new SpawnException(error, $"ptsname_r failed: {Native.ErrorText(error)}");
            var terminal = new PseudoTerminal(master, new string((sbyte*)name));
            terminal.Resize(cols, rows);
            return terminal;
        }
        catch
        {
            Native.close(master);
            throw;
        }
    }

    /// <summary>Sets the window size; the terminal's foreground process group gets SIGWINCH.</summary>
    public void Resize(int cols, int rows)
    {
        using var held = _gate.EnterScope();
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var size = new Native.WinSize { Cols = (ushort)cols, Rows = (ushort)rows };
        if (Native.ioctl(_master, Native.TiocSWinSz, &size) != 0)
            throw new IOException($"TIOCSWINSZ failed: {Native.ErrorText(Native.LastError)}");
    }

    /// <summary>
    /// Blocks up to <paramref name="timeoutMs"/> for output: the bytes read, 0 if none came in time,
    /// or -1 once no process holds the terminal any more (EIO) or it was closed. One reader only,
    /// and the reader is the one that disposes (so the descriptor is never reused under it).
    /// </summary>
    public int Read(Span<byte> buffer, int timeoutMs)
    {
        while (Volatile.Read(ref _disposed) == 0)
        {
            var poll = new Native.PollFd { Fd = _master, Events = Native.PollIn };
            var ready = Native.poll(&poll, 1, timeoutMs);
            if (ready < 0 && Native.LastError == Native.EIntr)
                continue;
            if (ready < 0)
                return -1;
            if (ready == 0)
                return 0;
            fixed (byte* bytes = buffer)
            {
                var n = Native.read(_master, bytes, (nuint)buffer.Length);
                if (n > 0)
                    return (int)n;
                if (n < 0 && Native.LastError is Native.EIntr or Native.EAgain)
                    continue;
                return -1;
            }
        }
        return -1;
    }

    /// <summary>
    /// Writes all of <paramref name="data"/>, waiting while the terminal's input queue is full (a
    /// process that does not read its input); the wait ends with <paramref name="cancellationToken"/>.
    /// </summary>
    public void Write(ReadOnlySpan<byte> data, CancellationToken cancellationToken)
    {
        using var held = _gate.EnterScope();
        fixed (byte* bytes = data)
        {
            var written = 0;
            while (written < data.Length)
            {
                ObjectDisposedException.ThrowIf(_disposed != 0, this);
                cancellationToken.ThrowIfCancellationRequested();
                var n = Native.write(_master, bytes + written, (nuint)(data.Length - written));
                if (n >= 0)
                {
                    written += (int)n;
                    continue;
                }
                var error = Native.LastError;
                if (error == Native.EAgain)
                {
                    var poll = new Native.PollFd { Fd = _master, Events = PollOut };
                    Native.poll(&poll, 1, 100);
                }
                else if (error != Native.EIntr)
                {
                    throw new IOException($"Writing to the terminal failed: {Native.ErrorText(error)}");
                }
            }
        }
    }

    public void Dispose()
    {
        using var held = _gate.EnterScope();
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            Native.close(_master);
    }
}
