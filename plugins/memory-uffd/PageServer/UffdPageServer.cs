using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Plugins.Memory.Uffd.Snapshots;

namespace Wrenn.Plugins.Memory.Uffd.PageServer;

/// <summary>
/// Serves one restored VM's memory on demand. The VMM connects to the server's Unix socket and
/// sends its guest memory regions (JSON) with the userfaultfd (SCM_RIGHTS); then every missing-page
/// fault is answered with a UFFDIO_COPY of the faulting page, then one more of the pages after it that
/// lie in order in the same generation file (mapped, so the copy comes straight from the page cache), or
/// UFFDIO_ZEROPAGE for blocks no generation holds (and for ranges the guest gave back, which the
/// VMM reports as remove events). A prefetch thread, after the first fault, replays the previous
/// restore's trace ahead of the guest and reads ahead of sequential faults; every page served is
/// recorded, in order, as the next restore's trace (<see cref="Trace"/>). It stops when the VMM goes
/// away; <see cref="Completion"/> then completes, and faults for any other reason (the sandbox must
/// fail then: its guest would hang).
/// </summary>
public sealed partial class UffdPageServer : IDisposable
{
    private const int EventBytes = 32;
    private const int EventsPerRead = 64;

    private readonly Socket _peer;
    private readonly int _uffd;
    private readonly Region[] _regions;
    private readonly MappedGenerations _sources;
    private readonly PageServerOptions _options;
    private readonly IReadOnlyList<TraceRun>? _replay;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _faulted = new(0);
    private readonly Thread _prefetcher;
    private volatile bool _stopping;
    private int _serving;
    private Exception? _failure;
    private long _faults;
    private long _copied;
    private long _zeroed;
    private long _prefetched;
    private long _copies;
    private long _lastFault = -1;

    /// <summary>One guest region with what the server knows of its pages (filled, given back).</summary>
    private sealed class Region(GuestRegion mapping)
    {
        public readonly ulong Base = mapping.BaseHostVirtAddr;
        public readonly ulong End = mapping.BaseHostVirtAddr + mapping.Size;
        public readonly ulong Offset = mapping.Offset;
        public readonly ulong Page = mapping.Page;
        public readonly long Pages = (long)(mapping.Size / mapping.Page);
        public readonly PageBitmap Present = new((long)(mapping.Size / mapping.Page));
        public readonly PageBitmap Removed = new((long)(mapping.Size / mapping.Page));
    }

    private UffdPageServer(SnapshotHeader header, string folder, Socket peer, int uffd, IReadOnlyList<GuestRegion> regions,
        PageServerOptions options, PrefetchTrace? replay, ILogger logger)
    {
        foreach (var region in regions)
        {
            if (region.Page % (ulong)header.BlockSize != 0 && (ulong)header.BlockSize % region.Page != 0)
                throw new InvalidDataException($"The VMM's page size {region.Page} does not fit the snapshot's block size {header.BlockSize}.");
            if (region.Offset + region.Size > (ulong)header.MemoryBytes)
                throw new InvalidDataException($"The VMM's region at guest offset {region.Offset} ({region.Size} bytes) lies beyond the snapshot's {header.MemoryBytes} bytes.");
        }
        _options = options.Validated();
        Native.SetNonBlocking(uffd);
        _peer = peer;
        _uffd = uffd;
        _logger = logger;
        _regions = [.. regions.Select(r => new Region(r))];
        _sources = new MappedGenerations(header, folder);
        _replay = _options.PrefetchTrace && replay is { Runs.Count: > 0 } ? replay.Runs : null;
        _serving = _options.FaultThreads;
        _prefetcher = new Thread(Prefetch) { IsBackground = true, Name = "wrenn-uffd-prefetch" };
        _prefetcher.Start();
        for (var t = 0; t < _options.FaultThreads; t++)
            new Thread(Serve) { IsBackground = true, Name = $"wrenn-uffd-{t}" }.Start();
    }

    public Task Completion => _completion.Task;

    /// <summary>Faults the handler read (each served by one copy of its run, or found served already).</summary>
    public long Faults => Interlocked.Read(ref _faults);

    /// <summary>Faulting pages filled by a copy.</summary>
    public long PagesCopied => Interlocked.Read(ref _copied);

    /// <summary>Faulting pages filled with zeros.</summary>
    public long PagesZeroed => Interlocked.Read(ref _zeroed);

    /// <summary>Pages filled before the guest touched them: the rest of a fault's run, read-ahead and the trace's replay.</summary>
    public long PagesPrefetched => Interlocked.Read(ref _prefetched);

    /// <summary>UFFDIO_COPY and UFFDIO_ZEROPAGE calls made.</summary>
    public long Copies => Interlocked.Read(ref _copies);

    /// <summary>Every page served so far, in the order served: the next restore's prefetch trace.</summary>
    public PrefetchTrace Trace { get; } = new();

    /// <summary>Listens on <paramref name="socketPath"/>, accepts the VMM and receives its regions and userfaultfd.</summary>
    public static Task<UffdPageServer> AcceptAsync(string socketPath, SnapshotHeader header, string folder, CancellationToken cancellationToken) =>
        AcceptAsync(socketPath, header, folder, new PageServerOptions(), null, NullLogger.Instance, cancellationToken);

    /// <summary>As above, with its options and the previous restore's trace to replay (null: none).</summary>
    public static async Task<UffdPageServer> AcceptAsync(string socketPath, SnapshotHeader header, string folder, PageServerOptions options,
        PrefetchTrace? replay, ILogger logger, CancellationToken cancellationToken)
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
            try
            {
                return new UffdPageServer(header, folder, peer, uffd, GuestRegion.ParseAll(buffer.AsSpan(0, received)), options, replay, logger);
            }
            catch
            {
                Native.close(uffd);
                throw;
            }
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

    /// <summary>One fault thread: several may read the same userfaultfd (each event goes to one reader).</summary>
    private unsafe void Serve()
    {
        var events = stackalloc byte[EventBytes * EventsPerRead];
        var bounce = new byte[_regions.Max(r => (int)r.Page)];
        var deferred = new List<ulong>();
        var polls = stackalloc Native.PollFd[2];
        try
        {
            while (!_stopping)
            {
                polls[0] = new Native.PollFd { Fd = _uffd, Events = Native.PollIn };
                polls[1] = new Native.PollFd { Fd = (int)_peer.Handle, Events = Native.PollIn };
                // A deferred fault waits on a remove event another read will complete: look again soon.
                var ready = Native.poll(polls, 2, deferred.Count > 0 ? 1 : 500);
                if (ready < 0 && Marshal.GetLastPInvokeError() == Native.EIntr)
                    continue;
                if (ready < 0)
                    throw new IOException($"poll failed: errno {Marshal.GetLastPInvokeError()}");
                if ((polls[1].Revents & (Native.PollIn | Native.PollHup | Native.PollErr)) != 0 && PeerGone())
                    break;
                if ((polls[0].Revents & Native.PollIn) != 0)
                    ReadEvents(events, bounce, deferred);
                for (var i = deferred.Count - 1; i >= 0; i--)
                {
                    if (ServeFault(deferred[i], bounce))
                        deferred.RemoveAt(i);
                }
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, e, null);
        }
        finally
        {
            if (Interlocked.Decrement(ref _serving) == 0)
                Finish();
        }
    }

    /// <summary>Reads and handles events (several per read) until none came for <see cref="PageServerOptions.SpinMicroseconds"/>.</summary>
    private unsafe void ReadEvents(byte* events, byte[] bounce, List<ulong> deferred)
    {
        var spinTicks = _options.SpinMicroseconds * System.Diagnostics.Stopwatch.Frequency / 1_000_000;
        var idleSince = System.Diagnostics.Stopwatch.GetTimestamp();
        while (!_stopping)
        {
            var n = Native.read(_uffd, events, EventBytes * EventsPerRead);
            if (n <= 0)
            {
                if (n < 0 && Marshal.GetLastPInvokeError() is not (Native.EAgain or Native.EIntr))
                    throw new IOException($"reading the userfaultfd failed: errno {Marshal.GetLastPInvokeError()}.");
                if (System.Diagnostics.Stopwatch.GetTimestamp() - idleSince >= spinTicks)
                    return;
                Thread.SpinWait(20);
                continue;
            }
            for (var at = 0; at + EventBytes <= n; at += EventBytes)
            {
                        var message = events + at;
                        switch (message[0])
                        {
                            case Native.EventPagefault:
                                var address = *(ulong*)(message + 16);
                                Interlocked.Increment(ref _faults);
                                if (!ServeFault(address, bounce))
                                    deferred.Add(address);
                                break;
                            case Native.EventRemove or Native.EventUnmap:
                                Forget(*(ulong*)(message + 8), *(ulong*)(message + 16));
                                break;
                        }
            }
            idleSince = System.Diagnostics.Stopwatch.GetTimestamp();
        }
    }

    /// <summary>The last fault thread out stops the prefetcher, then closes the userfaultfd (no copy may run on a closed, reused descriptor).</summary>
    private void Finish()
    {
        _stopping = true;
        _faulted.Release();
        _prefetcher.Join();
        _sources.Dispose();
        Native.close(_uffd);
        _peer.Dispose();
        LogEnded(Faults, PagesCopied, PagesZeroed, PagesPrefetched, Copies);
        if (_failure is { } failure)
            _completion.TrySetException(failure);
        else
            _completion.TrySetResult();
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

    private Region RegionOf(ulong address)
    {
        foreach (var region in _regions)
        {
            if (address >= region.Base && address < region.End)
                return region;
        }
        throw new InvalidDataException($"A fault at {address:x} lies outside every guest region the VMM announced.");
    }

    /// <summary>Serves one fault; false when it must be tried again (the VMM's memory map is changing: a remove event is pending).</summary>
    private unsafe bool ServeFault(ulong address, byte[] bounce)
    {
        var region = RegionOf(address);
        var pageStart = address & ~(region.Page - 1);
        // The faulting page alone first: a copy wakes the guest only when it ends, and a 16-page copy
        // measured 3-5x the latency of one page. The run after it follows in one more copy, while the guest runs.
        var filled = ServeRun(region, pageStart, 1, bounce, fault: true);
        if (filled < 0)
            return false;
        if (filled == 0)
        {
            // Served by another thread first; its copy woke the guest, this makes sure of it.
            var range = new Native.UffdioRange { Start = pageStart, Len = region.Page };
            Native.ioctl(_uffd, Native.UffdioWake, &range);
        }
        else if (_options.FaultRunPages > 1 && pageStart + region.Page < region.End)
        {
            ServeRun(region, pageStart + region.Page, _options.FaultRunPages - 1, bounce, fault: false);
        }
        Volatile.Write(ref _lastFault, (long)pageStart);
        if (_faulted.CurrentCount == 0)
            _faulted.Release();
        return true;
    }

    /// <summary>
    /// Fills the longest run of missing pages from <paramref name="pageStart"/> (at most
    /// <paramref name="maxPages"/>) that one call can: pages lying in order in one generation file
    /// (UFFDIO_COPY), or all zero (UFFDIO_ZEROPAGE). Returns the pages filled: 0 when the first was
    /// there already (EEXIST is fine: another thread served it), −1 when the VMM's memory map is
    /// changing (EAGAIN before anything was filled: try again after reading the pending events).
    /// </summary>
    private unsafe long ServeRun(Region region, ulong pageStart, int maxPages, byte[] bounce, bool fault)
    {
        var page = region.Page;
        var index = (long)((pageStart - region.Base) / page);
        if (region.Present[index])
            return 0;
        var memoryOffset = region.Offset + (pageStart - region.Base);
        var removed = region.Removed[index];
        byte* source = null;
        var kind = removed ? SourceKind.Zero : _sources.Locate(memoryOffset, page, out source);
        long run = 1;
        if (kind != SourceKind.Mixed)
        {
            var limit = Math.Min(maxPages, region.Pages - index);
            while (run < limit && !region.Present[index + run] && region.Removed[index + run] == removed)
            {
                byte* nextSource = null;
                var next = removed ? SourceKind.Zero : _sources.Locate(memoryOffset + (ulong)run * page, page, out nextSource);
                if (next != kind || (kind == SourceKind.Mapped && nextSource != source + run * (long)page))
                    break;
                run++;
            }
        }
        long done;
        int errno;
        if (kind == SourceKind.Zero)
        {
            var args = new Native.UffdioZeropageArgs { Start = pageStart, Len = (ulong)run * page };
            errno = Native.ioctl(_uffd, Native.UffdioZeropage, &args) == 0 ? 0 : Marshal.GetLastPInvokeError();
            done = errno == 0 ? (long)args.Len : args.Zeropage;
        }
        else
        {
            if (kind == SourceKind.Mixed)
                _sources.Gather(memoryOffset, bounce.AsSpan(0, (int)page));
            fixed (byte* gathered = bounce)
            {
                var args = new Native.UffdioCopyArgs { Dst = pageStart, Src = (ulong)(kind == SourceKind.Mixed ? gathered : source), Len = (ulong)run * page };
                errno = Native.ioctl(_uffd, Native.UffdioCopy, &args) == 0 ? 0 : Marshal.GetLastPInvokeError();
                done = errno == 0 ? (long)args.Len : args.Copy;
            }
        }
        Interlocked.Increment(ref _copies);
        if (errno != 0 && done <= 0)
        {
            if (errno == Native.EExist)
            {
                region.Present.Set(index, 1);
                return 0;
            }
            if (errno is Native.EAgain or Native.EIntr)
                return -1;
            throw new IOException($"serving {run} page(s) at {pageStart:x} failed: errno {errno}.");
        }
        // Partly filled (EAGAIN after some pages, or EEXIST further on): what was filled counts.
        var filled = done / (long)page;
        region.Present.Set(index, filled);
        Trace.Record(memoryOffset, (ulong)done);
        if (fault)
        {
            Interlocked.Increment(ref kind == SourceKind.Zero ? ref _zeroed : ref _copied);
            Interlocked.Add(ref _prefetched, filled - 1);
        }
        else
        {
            Interlocked.Add(ref _prefetched, filled);
        }
        return filled;
    }

    /// <summary>
    /// The prefetch thread: after the first fault, the previous restore's trace in its order, then
    /// read-ahead of sequential faults in a window that doubles while the guest keeps catching up.
    /// </summary>
    private void Prefetch()
    {
        var bounce = new byte[_regions.Max(r => (int)r.Page)];
        try
        {
            _faulted.Wait();
            if (_replay is { } replay)
                Replay(replay, bounce);
            if (_options.ReadaheadMaxPages > 0)
                ReadAhead(bounce);
        }
        catch (Exception e)
        {
            // A prefetch is only a head start: the faults still get served; say why it stopped.
            if (!_stopping)
                LogPrefetchFailed(e);
        }
    }

    private void Replay(IReadOnlyList<TraceRun> replay, byte[] bounce)
    {
        var pages = 0L;
        foreach (var run in replay)
        {
            if (_stopping)
                return;
            var memoryOffset = run.Start * PrefetchTrace.Unit;
            var end = memoryOffset + run.Pages * PrefetchTrace.Unit;
            foreach (var region in _regions)
            {
                // Only the part of the run inside this region: a trace from another layout is only a weaker hint.
                var from = Math.Max(memoryOffset, region.Offset);
                var to = Math.Min(end, region.Offset + (region.End - region.Base));
                if (from < to)
                    pages += Fill(region, region.Base + (from - region.Offset), region.Base + (to - region.Offset), bounce);
            }
        }
        LogReplayed(replay.Count, pages);
    }

    private void ReadAhead(byte[] bounce)
    {
        var window = (long)_options.ReadaheadMinPages;
        var windowEnd = ulong.MaxValue;
        while (!_stopping)
        {
            _faulted.Wait(500);
            var fault = Volatile.Read(ref _lastFault);
            if (fault < 0 || _stopping)
                continue;
            var region = RegionOf((ulong)fault);
            var index = (long)(((ulong)fault - region.Base) / region.Page);
            // Read ahead only of faults in order: the page before is there already.
            if (index == 0 || !region.Present[index - 1])
                continue;
            // The guest caught up with the last window (it faulted inside or at its end): a bigger one.
            window = windowEnd != ulong.MaxValue && (ulong)fault <= windowEnd && (ulong)fault + (ulong)window * region.Page > windowEnd
                ? Math.Min(window * 2, _options.ReadaheadMaxPages)
                : _options.ReadaheadMinPages;
            var from = (ulong)fault + region.Page;
            windowEnd = Math.Min(region.End, from + (ulong)window * region.Page);
            Fill(region, from, windowEnd, bounce);
        }
    }

    /// <summary>Fills the missing pages of [<paramref name="from"/>, <paramref name="to"/>) in chunks; returns the pages it filled.</summary>
    private long Fill(Region region, ulong from, ulong to, byte[] bounce)
    {
        var filled = 0L;
        var at = from;
        while (at < to && !_stopping)
        {
            var chunk = (int)Math.Min(_options.PrefetchChunkPages, (long)((to - at) / region.Page));
            var n = ServeRun(region, at, Math.Max(1, chunk), bounce, fault: false);
            if (n < 0)
            {
                Thread.Yield(); // a remove event is being read: the map settles in a moment
                continue;
            }
            filled += n;
            at += (ulong)Math.Max(1, n) * region.Page;
        }
        return filled;
    }

    private void Forget(ulong start, ulong end)
    {
        for (var p = start; p < end;)
        {
            var region = RegionOf(p);
            var index = (long)((p - region.Base) / region.Page);
            region.Removed.Set(index, 1);
            region.Present.Clear(index);
            p += region.Page;
        }
    }

    /// <summary>Writes the pages served so far, in their order, as the next restore's prefetch trace.</summary>
    public void WriteTrace(string path)
    {
        Trace.Write(path);
        LogTraceWritten(path, Trace.Runs.Count, Trace.Pages);
    }

    public void Dispose() => _stopping = true;

    [LoggerMessage(Level = LogLevel.Information, Message = "Page server ended: {Faults} faults, {Copied} pages copied and {Zeroed} zeroed for them, {Prefetched} prefetched, in {Copies} copies")]
    private partial void LogEnded(long faults, long copied, long zeroed, long prefetched, long copies);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replayed the prefetch trace: {Runs} runs, {Pages} pages filled ahead of the guest")]
    private partial void LogReplayed(int runs, long pages);

    [LoggerMessage(Level = LogLevel.Information, Message = "Prefetch trace written to {Path}: {Runs} runs, {Pages} pages")]
    private partial void LogTraceWritten(string path, int runs, long pages);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Prefetching stopped; faults are still served")]
    private partial void LogPrefetchFailed(Exception exception);
}
