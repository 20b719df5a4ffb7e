using System.Net.Sockets;
using System.Runtime.InteropServices;
using Wrenn.Plugins.Memory.Uffd.Snapshots;

namespace Wrenn.Plugins.Memory.Uffd.PageServer;

/// <summary>
/// Serves one restored VM's memory on demand. The VMM connects to the server's Unix socket and
/// sends its guest memory regions (JSON) with the userfaultfd (SCM_RIGHTS); then every missing-page
/// fault is answered with UFFDIO_COPY from the generation the snapshot header names, or
/// UFFDIO_ZEROPAGE for blocks no generation holds (and for ranges the guest gave back, which the
/// VMM reports as remove events). It stops when the VMM goes away; <see cref="Completion"/> then
/// completes, and faults it for any other reason (the sandbox must fail then: its guest would hang).
/// </summary>
public sealed class UffdPageServer : IDisposable
{
    private readonly SnapshotHeader _header;
    private readonly string _folder;
    private readonly Socket _peer;
    private readonly int _uffd;
    private readonly IReadOnlyList<GuestRegion> _regions;
    private readonly HashSet<ulong> _removed = [];
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;
    private long _copied;
    private long _zeroed;
    private long _prefetched;
    private ulong _lastFault = ulong.MaxValue;

    /// <summary>Pages copied ahead of a sequential run of faults: a guest reading memory in order then faults once per run, not once per page.</summary>
    public const int PrefetchPages = 16;

    private UffdPageServer(SnapshotHeader header, string folder, Socket peer, int uffd, IReadOnlyList<GuestRegion> regions)
    {
        _header = header;
        _folder = folder;
        _peer = peer;
        _uffd = uffd;
        _regions = regions;
        foreach (var region in regions)
        {
            if (region.Page % (ulong)header.BlockSize != 0 && (ulong)header.BlockSize % region.Page != 0)
                throw new InvalidDataException($"The VMM's page size {region.Page} does not fit the snapshot's block size {header.BlockSize}.");
        }
        new Thread(Serve) { IsBackground = true, Name = "wrenn-uffd" }.Start();
    }

    public Task Completion => _completion.Task;

    public long PagesCopied => Interlocked.Read(ref _copied);

    public long PagesZeroed => Interlocked.Read(ref _zeroed);

    public long PagesPrefetched => Interlocked.Read(ref _prefetched);

    /// <summary>Listens on <paramref name="socketPath"/>, accepts the VMM and receives its regions and userfaultfd.</summary>
    public static async Task<UffdPageServer> AcceptAsync(string socketPath, SnapshotHeader header, string folder, CancellationToken cancellationToken)
    {
        File.Delete(socketPath);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.Listen(1);
        var peer = await listener.AcceptAsync(cancellationToken);
        try
        {
            var buffer = new byte[64 * 1024];
            var fd = (int)peer.Handle;
            var (received, uffd) = await Task.Run(() => Native.ReceiveWithFd(fd, buffer), cancellationToken);
            if (uffd < 0)
                throw new InvalidDataException("The VMM connected but sent no userfaultfd.");
            return new UffdPageServer(header, folder, peer, uffd, GuestRegion.ParseAll(buffer.AsSpan(0, received)));
        }
        catch
        {
            peer.Dispose();
            throw;
        }
        finally
        {
            File.Delete(socketPath);
        }
    }

    private unsafe void Serve()
    {
        var message = stackalloc byte[32];
        var page = new byte[_regions.Max(r => (int)r.Page)];
        using var files = new GenerationFiles();
        var polls = stackalloc Native.PollFd[2];
        try
        {
            while (!_stopping)
            {
                polls[0] = new Native.PollFd { Fd = _uffd, Events = Native.PollIn };
                polls[1] = new Native.PollFd { Fd = (int)_peer.Handle, Events = Native.PollIn };
                var ready = Native.poll(polls, 2, 500);
                if (ready < 0 && Marshal.GetLastPInvokeError() == Native.EIntr)
                    continue;
                if (ready < 0)
                    throw new IOException($"poll failed: errno {Marshal.GetLastPInvokeError()}");
                if ((polls[1].Revents & (Native.PollIn | Native.PollHup | Native.PollErr)) != 0 && PeerGone())
                    break;
                if ((polls[0].Revents & Native.PollIn) == 0)
                    continue;
                var n = Native.read(_uffd, message, 32);
                if (n < 0 && Marshal.GetLastPInvokeError() is Native.EAgain or Native.EIntr)
                    continue;
                if (n != 32)
                    throw new IOException($"reading the userfaultfd gave {n} bytes (errno {Marshal.GetLastPInvokeError()}).");
                switch (message[0])
                {
                    case Native.EventPagefault:
                        ServeFault(*(ulong*)(message + 16), page, files);
                        break;
                    case Native.EventRemove or Native.EventUnmap:
                        Forget(*(ulong*)(message + 8), *(ulong*)(message + 16));
                        break;
                }
            }
            _completion.TrySetResult();
        }
        catch (Exception e)
        {
            _completion.TrySetException(e);
        }
        finally
        {
            Native.close(_uffd);
            _peer.Dispose();
        }
    }

    /// <summary>The VMM closed its end (it exited): nothing is left to serve.</summary>
    private bool PeerGone()
    {
        try
        {
            return _peer.Receive(new byte[1], SocketFlags.Peek) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    private unsafe void ServeFault(ulong address, byte[] buffer, GenerationFiles files)
    {
        var region = _regions.FirstOrDefault(r => r.Contains(address))
            ?? throw new InvalidDataException($"A fault at {address:x} lies outside every guest region the VMM announced.");
        var pageSize = region.Page;
        var pageStart = address & ~(pageSize - 1);
        var sequential = _lastFault != ulong.MaxValue && pageStart == _lastFault + pageSize;
        _lastFault = pageStart;
        ServePage(region, pageStart, buffer, files, counted: true);
        if (!sequential)
            return;
        // Faults in order: copy the pages ahead too, while the generation file is being read in order anyway.
        for (var ahead = 1; ahead <= PrefetchPages; ahead++)
        {
            var next = pageStart + (ulong)ahead * pageSize;
            if (!region.Contains(next) || _removed.Contains(next))
                break;
            if (ServePage(region, next, buffer, files, counted: false))
                Interlocked.Increment(ref _prefetched);
        }
    }

    /// <summary>Copies (or zero-fills) one page; false when it was there already.</summary>
    private unsafe bool ServePage(GuestRegion region, ulong pageStart, byte[] buffer, GenerationFiles files, bool counted)
    {
        var pageSize = region.Page;
        var memoryOffset = region.Offset + (pageStart - region.BaseHostVirtAddr);
        var blockSize = (ulong)_header.BlockSize;
        var zero = _removed.Contains(pageStart);
        if (!zero)
        {
            // A page is one block, or several whole blocks (huge pages).
            var allZero = true;
            for (var covered = 0UL; covered < pageSize; covered += blockSize)
            {
                var block = (long)((memoryOffset + covered) / blockSize);
                if (_header[block].IsZero)
                {
                    buffer.AsSpan((int)covered, (int)blockSize).Clear();
                    continue;
                }
                allZero = false;
                _header.ReadBlock(_folder, block, buffer.AsSpan((int)covered, (int)blockSize), files);
            }
            zero = allZero;
        }
        bool served;
        if (zero)
        {
            var args = new Native.UffdioZeropageArgs { Start = pageStart, Len = pageSize };
            served = Ioctl(Native.UffdioZeropage, &args, pageStart);
            if (served && counted)
                Interlocked.Increment(ref _zeroed);
            return served;
        }
        fixed (byte* source = buffer)
        {
            var args = new Native.UffdioCopyArgs { Dst = pageStart, Src = (ulong)source, Len = pageSize };
            served = Ioctl(Native.UffdioCopy, &args, pageStart);
        }
        if (served && counted)
            Interlocked.Increment(ref _copied);
        return served;
    }

    /// <summary>True when the page was filled now, false when it was there already (EEXIST: another fault or a prefetch served it first).</summary>
    private unsafe bool Ioctl(ulong request, void* args, ulong page)
    {
        while (Native.ioctl(_uffd, request, args) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Native.EExist)
                return false;
            if (errno is not (Native.EAgain or Native.EIntr))
                throw new IOException($"serving the page at {page:x} failed: errno {errno}.");
        }
        return true;
    }

    private void Forget(ulong start, ulong end)
    {
        for (var p = start; p < end; p += 4096)
            _removed.Add(p);
    }

    public void Dispose() => _stopping = true;
}
