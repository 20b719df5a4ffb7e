using Wrenn.Plugins.Memory.Uffd.Snapshots;

namespace Wrenn.Plugins.Memory.Uffd.PageServer;

/// <summary>What guest memory at an offset is made of.</summary>
internal enum SourceKind { Zero, Mapped, Mixed }

/// <summary>
/// The snapshot's generation files mapped read-only into the page server, so that UFFDIO_COPY copies
/// straight from the page cache: no read() per fault, no bounce buffer, and a run of blocks that
/// lie in order in one file goes in one copy.
/// </summary>
internal sealed unsafe class MappedGenerations : IDisposable
{
    private readonly SnapshotHeader _header;
    private readonly byte*[] _bases;
    private readonly ulong[] _lengths;

    public MappedGenerations(SnapshotHeader header, string folder)
    {
        _header = header;
        _bases = new byte*[header.Generations.Count];
        _lengths = new ulong[header.Generations.Count];
        try
        {
            for (var g = 0; g < header.Generations.Count; g++)
            {
                var path = Path.Combine(folder, header.Generations[g]);
                using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
                var length = (ulong)RandomAccess.GetLength(handle);
                _lengths[g] = length;
                if (length == 0)
                    continue;
                var mapped = Native.mmap(null, (nuint)length, Native.ProtRead, Native.MapShared, (int)handle.DangerousGetHandle(), 0);
                if (mapped == (void*)-1)
                    throw new IOException($"mmap of {path} ({length} bytes) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}.");
                _bases[g] = (byte*)mapped;
            }
            // A block past its file's end would fault the copy (EFAULT) in the middle of serving: refuse now.
            var blockSize = (ulong)header.BlockSize;
            for (long b = 0; b < header.BlockCount; b++)
            {
                var at = header[b];
                if (!at.IsZero && (ulong)at.Offset + blockSize > _lengths[at.Generation])
                    throw new SnapshotHeaderException($"{Path.Combine(folder, header.Generations[at.Generation])} ends at {_lengths[at.Generation]}, before block {b} the header places at {at.Offset}.");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// Where the <paramref name="pageSize"/> bytes of guest memory at <paramref name="memoryOffset"/>
    /// come from: all zero, one mapped range (<paramref name="source"/>), or blocks of several
    /// places (a huge page over several generations: <see cref="Gather"/> them).
    /// </summary>
    public SourceKind Locate(ulong memoryOffset, ulong pageSize, out byte* source)
    {
        var blockSize = (ulong)_header.BlockSize;
        var first = _header[(long)(memoryOffset / blockSize)];
        source = null;
        if (pageSize <= blockSize)
        {
            if (first.IsZero)
                return SourceKind.Zero;
            source = _bases[first.Generation] + first.Offset + (long)(memoryOffset % blockSize);
            return SourceKind.Mapped;
        }
        var zero = first.IsZero;
        var contiguous = true;
        for (var covered = blockSize; covered < pageSize; covered += blockSize)
        {
            var next = _header[(long)((memoryOffset + covered) / blockSize)];
            zero &= next.IsZero;
            contiguous &= !first.IsZero && next.Generation == first.Generation && (ulong)next.Offset == (ulong)first.Offset + covered;
        }
        if (zero)
            return SourceKind.Zero;
        if (!contiguous)
            return SourceKind.Mixed;
        source = _bases[first.Generation] + first.Offset;
        return SourceKind.Mapped;
    }

    /// <summary>Assembles a page whose blocks lie in several places into <paramref name="buffer"/>.</summary>
    public void Gather(ulong memoryOffset, Span<byte> buffer)
    {
        var blockSize = _header.BlockSize;
        for (var covered = 0; covered < buffer.Length; covered += blockSize)
        {
            var at = _header[(long)((memoryOffset + (ulong)covered) / (ulong)blockSize)];
            var destination = buffer.Slice(covered, blockSize);
            if (at.IsZero)
                destination.Clear();
            else
                new ReadOnlySpan<byte>(_bases[at.Generation] + at.Offset, blockSize).CopyTo(destination);
        }
    }

    public void Dispose()
    {
        for (var g = 0; g < _bases.Length; g++)
        {
            if (_bases[g] != null)
                Native.munmap(_bases[g], (nuint)_lengths[g]);
            _bases[g] = null;
        }
    }
}
