using System.Text;
using System.Threading.Channels;
using Wrenn.Guest.Agent.Interop;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Files;

/// <summary>
/// Changes under one folder, from inotify: one inotify instance per watch, read on a thread of its
/// own (poll on the inotify descriptor and an eventfd that ends it). A recursive watch adds a watch
/// for every folder below the root, and for each folder created or moved in later before it reports
/// it, so changes inside a new folder are seen from the moment its CREATE arrives; entries already in
/// a new folder when its watch is added are reported as CREATE too (so `mkdir -p a/b/c` reports all
/// three; an entry made in that very instant may be reported twice). Disposing ends the thread, which closes the descriptor: the kernel then drops
/// every watch of the instance, so nothing stays behind in the guest.
/// </summary>
internal sealed unsafe class DirectoryWatch : IDisposable
{
    private const uint InModify = 0x2;
    private const uint InAttrib = 0x4;
    private const uint InMovedFrom = 0x40;
    private const uint InMovedTo = 0x80;
    private const uint InCreate = 0x100;
    private const uint InDelete = 0x200;
    private const uint InDeleteSelf = 0x400;
    private const uint InMoveSelf = 0x800;
    private const uint InUnmount = 0x2000;
    private const uint InQueueOverflow = 0x4000;
    private const uint InIgnored = 0x8000;
    private const uint InOnlyDir = 0x1000000;
    private const uint InExclUnlink = 0x4000000;
    private const uint InIsDir = 0x40000000;
    private const uint Mask = InModify | InAttrib | InMovedFrom | InMovedTo | InCreate | InDelete | InDeleteSelf | InMoveSelf | InOnlyDir | InExclUnlink;
    private const int ENoSpace = 28;
    private const int ENoent = 2;
    private const int EAcces = 13;
    private const int PendingMoveWaitMs = 50;

    private readonly int _inotify;
    private readonly int _wake;
    private readonly string _root;
    private readonly bool _recursive;
    private readonly Dictionary<int, string> _folders = [];
    private readonly Channel<FileEvent> _events = Channel.CreateBounded<FileEvent>(new BoundedChannelOptions(4096) { SingleWriter = true, SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private int _rootWatch;
    private int _disposed;

    private DirectoryWatch(int inotify, int wake, string root, bool recursive)
    {
        _inotify = inotify;
        _wake = wake;
        _root = root;
        _recursive = recursive;
    }

    /// <summary>Puts the watch in place (the whole tree, if recursive) before returning.</summary>
    public static DirectoryWatch Open(string root, bool recursive)
    {
        if (File.Exists(root))
            throw Errors.FailedPrecondition($"'{root}' is a file: watch the folder it is in.");
        if (!Directory.Exists(root))
            throw Errors.NotFound($"'{root}' does not exist: a watch needs an existing folder.");
        var inotify = Native.inotify_init1(Native.OCloexec | Native.ONonblock);
        if (inotify < 0)
            throw Errors.ResourceExhausted($"inotify_init1 failed: {Native.ErrorText(Native.LastError)} (the guest's limit of inotify instances?)");
        var wake = Native.eventfd(0, Native.OCloexec | Native.ONonblock);
        if (wake < 0)
        {
            Native.close(inotify);
            throw Errors.Internal($"eventfd failed: {Native.ErrorText(Native.LastError)}");
        }
        var watch = new DirectoryWatch(inotify, wake, root, recursive);
        try
        {
            watch._rootWatch = watch.Add(root, throwIfGone: true);
            if (recursive)
            {
                foreach (var folder in Directory.EnumerateDirectories(root, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint }))
                    watch.Add(folder, throwIfGone: false);
            }
        }
        catch
        {
            Native.close(inotify);
            Native.close(wake);
            throw;
        }
        new Thread(watch.ReadLoop) { IsBackground = true, Name = $"watch {root}" }.Start();
        return watch;
    }

    public IAsyncEnumerable<FileEvent> ReadAllAsync(CancellationToken cancellationToken) => _events.Reader.ReadAllAsync(cancellationToken);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _stop.Cancel();
        ulong one = 1;
        Native.write(_wake, (byte*)&one, sizeof(ulong));
    }

    private int Add(string folder, bool throwIfGone)
    {
        var wd = Native.inotify_add_watch(_inotify, folder, Mask);
        if (wd < 0)
        {
            var error = Native.LastError;
            if (error == ENoSpace)
                throw Errors.ResourceExhausted($"The guest's inotify watch limit is reached (fs.inotify.max_user_watches) while watching '{folder}'.");
            if (error == EAcces)
                throw Errors.PermissionDenied($"'{folder}' cannot be watched: {Native.ErrorText(error)}");
            if (throwIfGone || error != ENoent)
                throw Errors.NotFound($"'{folder}' cannot be watched: {Native.ErrorText(error)}");
            return -1;
        }
        _folders[wd] = folder;
        return wd;
    }

    private void ReadLoop()
    {
        var buffer = new byte[64 * 1024];
        var pendingMoves = new Dictionary<uint, (string Path, bool IsDirectory, long At)>();
        Exception? failure = null;
        try
        {
            var fds = stackalloc Native.PollFd[2];
            while (!_stop.IsCancellationRequested)
            {
                fds[0] = new Native.PollFd { Fd = _inotify, Events = Native.PollIn };
                fds[1] = new Native.PollFd { Fd = _wake, Events = Native.PollIn };
                var ready = Native.poll(fds, 2, pendingMoves.Count > 0 ? PendingMoveWaitMs : -1);
                if (ready < 0 && Native.LastError == Native.EIntr)
                    continue;
                if (ready < 0)
                    throw new IOException($"poll failed: {Native.ErrorText(Native.LastError)}");
                if ((fds[1].Revents & Native.PollIn) != 0)
                    break;
                if (ready == 0)
                {
                    FlushMovesOut(pendingMoves);
                    continue;
                }
                int n;
                fixed (byte* bytes = buffer)
                    n = (int)Native.read(_inotify, bytes, (nuint)buffer.Length);
                if (n < 0 && Native.LastError is Native.EAgain or Native.EIntr)
                    continue;
                if (n <= 0)
                    throw new IOException($"Reading inotify events failed: {Native.ErrorText(Native.LastError)}");
                if (!Handle(buffer.AsSpan(0, n), pendingMoves))
                    break;
                FlushMovesOut(pendingMoves);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            failure = e;
        }
        finally
        {
            // Closing the instance removes all its watches.
            Native.close(_inotify);
            Native.close(_wake);
            _events.Writer.TryComplete(failure);
        }
    }

    /// <summary>Handles one read's events; false when the watch is over (its folder went away).</summary>
    private bool Handle(ReadOnlySpan<byte> events, Dictionary<uint, (string Path, bool IsDirectory, long At)> pendingMoves)
    {
        // struct inotify_event { int wd; uint32_t mask; uint32_t cookie; uint32_t len; char name[len]; }
        var offset = 0;
        while (offset + 16 <= events.Length)
        {
            var wd = BitConverter.ToInt32(events[offset..]);
            var mask = BitConverter.ToUInt32(events[(offset + 4)..]);
            var cookie = BitConverter.ToUInt32(events[(offset + 8)..]);
            var length = (int)BitConverter.ToUInt32(events[(offset + 12)..]);
            var nameBytes = events.Slice(offset + 16, length);
            var end = nameBytes.IndexOf((byte)0);
            var name = Encoding.UTF8.GetString(end >= 0 ? nameBytes[..end] : nameBytes);
            offset += 16 + length;

            if ((mask & InQueueOverflow) != 0)
                throw Errors.DataLoss("The guest's inotify queue overflowed and events were lost: watch again (and read faster).");
            if ((mask & InIgnored) != 0)
            {
                _folders.Remove(wd);
                if (wd == _rootWatch)
                    return false;
                continue;
            }
            if (!_folders.TryGetValue(wd, out var folder))
                continue;
            if ((mask & (InDeleteSelf | InMoveSelf | InUnmount)) != 0)
            {
                if (wd == _rootWatch)
                {
                    Emit(FileEventType.Remove, _root, isDirectory: true);
                    return false;
                }
                continue;
            }
            var path = name.Length == 0 ? folder : Path.Join(folder, name);
            var isDirectory = (mask & InIsDir) != 0;
            if ((mask & InCreate) != 0)
            {
                if (isDirectory && _recursive)
                    WatchNewFolder(path);
                else
                    Emit(FileEventType.Create, path, isDirectory);
            }
            if ((mask & InModify) != 0)
                Emit(FileEventType.Write, path, isDirectory);
            if ((mask & InAttrib) != 0)
                Emit(FileEventType.Chmod, path, isDirectory);
            if ((mask & InDelete) != 0)
                Emit(FileEventType.Remove, path, isDirectory);
            if ((mask & InMovedFrom) != 0)
                pendingMoves[cookie] = (path, isDirectory, Environment.TickCount64);
            if ((mask & InMovedTo) != 0)
            {
                if (pendingMoves.Remove(cookie, out var from))
                {
                    if (isDirectory && _recursive)
                        Renamed(from.Path, path);
                    Emit(FileEventType.Rename, path, isDirectory, from.Path);
                }
                else if (isDirectory && _recursive)
                {
                    WatchNewFolder(path);
                }
                else
                {
                    Emit(FileEventType.Create, path, isDirectory);
                }
            }
        }
        return true;
    }

    /// <summary>
    /// A folder that appeared in a recursive watch: its watch is added first, then its CREATE is
    /// reported, then what it already holds (folders the same way, depth first).
    /// </summary>
    private void WatchNewFolder(string folder)
    {
        var watched = Add(folder, throwIfGone: false) >= 0;
        Emit(FileEventType.Create, folder, isDirectory: true);
        if (!watched)
            return;
        try
        {
            foreach (var entry in new DirectoryInfo(folder).EnumerateFileSystemInfos())
            {
                if (entry is DirectoryInfo && entry.LinkTarget is null)
                    WatchNewFolder(entry.FullName);
                else
                    Emit(FileEventType.Create, entry.FullName, isDirectory: entry is DirectoryInfo);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone or closed again while we looked: its own events say so.
        }
    }

    /// <summary>A watched folder moved within the tree: its watches (and those below it) keep working under the new name.</summary>
    private void Renamed(string from, string to)
    {
        foreach (var (wd, folder) in _folders.ToList())
        {
            if (folder == from)
                _folders[wd] = to;
            else if (folder.StartsWith(from + "/", StringComparison.Ordinal))
                _folders[wd] = to + folder[from.Length..];
        }
    }

    /// <summary>A move whose other half did not come within a moment: the entry left the watched tree.</summary>
    private void FlushMovesOut(Dictionary<uint, (string Path, bool IsDirectory, long At)> pendingMoves)
    {
        foreach (var (cookie, (path, isDirectory, at)) in pendingMoves.ToList())
        {
            if (Environment.TickCount64 - at >= PendingMoveWaitMs)
            {
                pendingMoves.Remove(cookie);
                MovedOut(path, isDirectory);
            }
        }
    }

    private void MovedOut(string path, bool isDirectory)
    {
        Emit(FileEventType.Remove, path, isDirectory);
        if (!isDirectory || !_recursive)
            return;
        foreach (var (wd, folder) in _folders.ToList())
        {
            if (folder == path || folder.StartsWith(path + "/", StringComparison.Ordinal))
            {
                Native.inotify_rm_watch(_inotify, wd);
                _folders.Remove(wd);
            }
        }
    }

    private void Emit(FileEventType type, string path, bool isDirectory, string? oldPath = null)
    {
        var e = new FileEvent { Type = type, Path = path, IsDirectory = isDirectory, OldPath = oldPath ?? "" };
        // A full queue (a slow caller) blocks this thread; the kernel queues meanwhile, and reports
        // an overflow if the caller never catches up.
        if (!_events.Writer.TryWrite(e))
            _events.Writer.WriteAsync(e, _stop.Token).AsTask().GetAwaiter().GetResult();
    }
}
