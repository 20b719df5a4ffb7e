using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Wrenn.Plugins.Memory.Uffd.Snapshots;

/// <summary>Where one block of guest memory is: in which generation file, at which offset; or nowhere (zero).</summary>
public readonly record struct BlockLocation(int Generation, long Offset)
{
    public const int Zero = -1;

    public static BlockLocation ZeroBlock { get; } = new(Zero, 0);

    public bool IsZero => Generation == Zero;
}

/// <summary>A header that cannot be used; the message says what is wrong with which file.</summary>
public sealed class SnapshotHeaderException(string message) : Exception(message);

/// <summary>
/// The snapshot header: a versioned map from every block of guest memory to the generation file
/// (and offset) holding it. Each header is complete on its own — reading a block never walks a
/// chain of headers. A full snapshot is generation 0; a re-pause after resume writes only the
/// dirty blocks as a new generation file and a new header; past a bound the chain collapses into
/// one full file. The format (little-endian) is documented in plugins/memory-uffd/README.md.
/// </summary>
public sealed class SnapshotHeader
{
    public const int Version = 1;
    private static readonly byte[] Magic = "WRNSNAPH"u8.ToArray();
    private const int ChecksumBytes = 32;

    private readonly BlockLocation[] _blocks;

    private SnapshotHeader(int blockSize, long memoryBytes, IReadOnlyList<string> generations, BlockLocation[] blocks)
    {
        BlockSize = blockSize;
        MemoryBytes = memoryBytes;
        Generations = generations;
        _blocks = blocks;
    }

    public int BlockSize { get; }

    public long MemoryBytes { get; }

    /// <summary>Generation files, oldest first, by name relative to the header's folder.</summary>
    public IReadOnlyList<string> Generations { get; }

    public long BlockCount => _blocks.LongLength;

    public BlockLocation this[long block] => _blocks[block];

    /// <summary>A full snapshot: every block in <paramref name="file"/> at its own offset; <paramref name="zeroBlocks"/> are not stored.</summary>
    public static SnapshotHeader Full(long memoryBytes, int blockSize, string file, Func<long, bool>? zeroBlocks = null)
    {
        if (blockSize <= 0 || (blockSize & (blockSize - 1)) != 0)
            throw new ArgumentException($"The block size must be a power of two (got {blockSize}).", nameof(blockSize));
        if (memoryBytes <= 0 || memoryBytes % blockSize != 0)
            throw new ArgumentException($"The memory size {memoryBytes} is not a positive multiple of the block size {blockSize}.", nameof(memoryBytes));
        var blocks = new BlockLocation[memoryBytes / blockSize];
        for (long i = 0; i < blocks.LongLength; i++)
            blocks[i] = zeroBlocks?.Invoke(i) == true ? BlockLocation.ZeroBlock : new BlockLocation(0, i * blockSize);
        return new SnapshotHeader(blockSize, memoryBytes, [file], blocks);
    }

    /// <summary>
    /// The header after a diff generation: <paramref name="dirtyBlocks"/> (in the order they were
    /// written to <paramref name="file"/>, one block each) now live there; every other block stays
    /// where it was.
    /// </summary>
    public SnapshotHeader WithDiff(string file, IReadOnlyList<long> dirtyBlocks)
    {
        var blocks = (BlockLocation[])_blocks.Clone();
        var generation = Generations.Count;
        for (var k = 0; k < dirtyBlocks.Count; k++)
        {
            var block = dirtyBlocks[k];
            if (block < 0 || block >= blocks.LongLength)
                throw new ArgumentOutOfRangeException(nameof(dirtyBlocks), $"Block {block} is outside the {blocks.LongLength} blocks of this memory.");
            blocks[block] = new BlockLocation(generation, (long)k * BlockSize);
        }
        return new SnapshotHeader(BlockSize, MemoryBytes, [.. Generations, file], blocks);
    }

    /// <summary>
    /// The header after a diff generation written the way Firecracker writes one: a sparse file of the
    /// memory's full size in which only <paramref name="dirtyBlocks"/> hold data, each at its own offset.
    /// </summary>
    public SnapshotHeader WithSparseDiff(string file, IEnumerable<long> dirtyBlocks)
    {
        var blocks = (BlockLocation[])_blocks.Clone();
        var generation = Generations.Count;
        foreach (var block in dirtyBlocks)
        {
            if (block < 0 || block >= blocks.LongLength)
                throw new ArgumentOutOfRangeException(nameof(dirtyBlocks), $"Block {block} is outside the {blocks.LongLength} blocks of this memory.");
            blocks[block] = new BlockLocation(generation, block * BlockSize);
        }
        return new SnapshotHeader(BlockSize, MemoryBytes, [.. Generations, file], blocks);
    }

    /// <summary>Whether the next pause should collapse the chain into one full snapshot rather than add another diff (default bound: 10 diffs).</summary>
    public bool ShouldCollapse(int maxDiffGenerations = 10) => Generations.Count - 1 >= maxDiffGenerations;

    /// <summary>Reads one block through the header (zeros for a zero block) from the generation files in <paramref name="folder"/>.</summary>
    public void ReadBlock(string folder, long block, Span<byte> destination, GenerationFiles files)
    {
        var location = _blocks[block];
        if (location.IsZero)
        {
            destination[..BlockSize].Clear();
            return;
        }
        files.Read(Path.Combine(folder, Generations[location.Generation]), location.Offset, destination[..BlockSize]);
    }

    /// <summary>Writes the memory as one full generation file and returns its header: the chain collapsed.</summary>
    public SnapshotHeader Collapse(string folder, string file)
    {
        var buffer = new byte[BlockSize];
        var path = Path.Combine(folder, file);
        using var files = new GenerationFiles();
        using (var output = new FileStream(path + ".tmp", FileMode.Create, FileAccess.Write))
        {
            output.SetLength(MemoryBytes); // sparse: zero blocks stay holes
            for (long i = 0; i < BlockCount; i++)
            {
                if (_blocks[i].IsZero)
                    continue;
                ReadBlock(folder, i, buffer, files);
                output.Position = i * BlockSize;
                output.Write(buffer);
            }
            output.Flush(flushToDisk: true);
        }
        File.Move(path + ".tmp", path, overwrite: true);
        return Full(MemoryBytes, BlockSize, file, i => _blocks[i].IsZero);
    }

    /// <summary>Writes the header atomically (a temporary file, flushed, then renamed).</summary>
    public void Write(string path)
    {
        using var body = new MemoryStream();
        Span<byte> scratch = stackalloc byte[12];
        body.Write(Magic);
        BinaryPrimitives.WriteInt32LittleEndian(scratch, Version);
        body.Write(scratch[..4]);
        BinaryPrimitives.WriteInt32LittleEndian(scratch, BlockSize);
        body.Write(scratch[..4]);
        BinaryPrimitives.WriteInt64LittleEndian(scratch, MemoryBytes);
        body.Write(scratch[..8]);
        BinaryPrimitives.WriteInt32LittleEndian(scratch, Generations.Count);
        body.Write(scratch[..4]);
        foreach (var generation in Generations)
        {
            var name = Encoding.UTF8.GetBytes(generation);
            BinaryPrimitives.WriteInt32LittleEndian(scratch, name.Length);
            body.Write(scratch[..4]);
            body.Write(name);
        }
        foreach (var block in _blocks)
        {
            BinaryPrimitives.WriteInt32LittleEndian(scratch, block.Generation);
            BinaryPrimitives.WriteInt64LittleEndian(scratch[4..], block.Offset);
            body.Write(scratch);
        }
        var bytes = body.ToArray();
        using (var file = new FileStream(path + ".tmp", FileMode.Create, FileAccess.Write))
        {
            file.Write(bytes);
            file.Write(SHA256.HashData(bytes));
            file.Flush(flushToDisk: true);
        }
        File.Move(path + ".tmp", path, overwrite: true);
    }

    public static SnapshotHeader Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < Magic.Length + 24 + ChecksumBytes || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new SnapshotHeaderException($"{path} is not a Wrenn snapshot header (bad magic or too short: {bytes.Length} bytes).");
        var bodyLength = bytes.Length - ChecksumBytes;
        if (!SHA256.HashData(bytes.AsSpan(0, bodyLength)).AsSpan().SequenceEqual(bytes.AsSpan(bodyLength)))
            throw new SnapshotHeaderException($"{path} is corrupted or truncated: its checksum does not match. Restore it from the snapshot's backup or discard the snapshot.");
        var at = Magic.Length;
        int Int32()
        {
            var value = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at, Math.Min(4, bodyLength - at)));
            at += 4;
            return value;
        }
        long Int64()
        {
            var value = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(at, Math.Min(8, bodyLength - at)));
            at += 8;
            return value;
        }
        try
        {
            var version = Int32();
            if (version != Version)
                throw new SnapshotHeaderException($"{path} is a version {version} snapshot header; this silo reads version {Version}.");
            var blockSize = Int32();
            var memoryBytes = Int64();
            var generationCount = Int32();
            if (blockSize <= 0 || memoryBytes <= 0 || memoryBytes % blockSize != 0 || generationCount is < 1 or > 1_000_000)
                throw new SnapshotHeaderException($"{path} describes an impossible memory ({memoryBytes} bytes in blocks of {blockSize}, {generationCount} generations).");
            var generations = new List<string>(generationCount);
            for (var g = 0; g < generationCount; g++)
            {
                var length = Int32();
                if (length < 0 || at + length > bodyLength)
                    throw new ArgumentOutOfRangeException(nameof(path));
                generations.Add(Encoding.UTF8.GetString(bytes, at, length));
                at += length;
            }
            var blocks = new BlockLocation[memoryBytes / blockSize];
            if (bodyLength - at != blocks.LongLength * 12)
                throw new SnapshotHeaderException($"{path} has {bodyLength - at} bytes of block map where {blocks.LongLength * 12} were expected.");
            for (long i = 0; i < blocks.LongLength; i++)
            {
                var generation = Int32();
                var offset = Int64();
                if (generation != BlockLocation.Zero && (generation < 0 || generation >= generationCount || offset < 0))
                    throw new SnapshotHeaderException($"{path} maps block {i} to generation {generation}, which it does not have.");
                blocks[i] = new BlockLocation(generation, offset);
            }
            return new SnapshotHeader(blockSize, memoryBytes, generations, blocks);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new SnapshotHeaderException($"{path} ends in the middle of its contents.");
        }
    }
}

/// <summary>Open generation files, kept open while blocks are served from them.</summary>
public sealed class GenerationFiles : IDisposable
{
    private readonly Dictionary<string, Microsoft.Win32.SafeHandles.SafeFileHandle> _open = [];

    public void Read(string path, long offset, Span<byte> destination)
    {
        if (!_open.TryGetValue(path, out var handle))
            _open[path] = handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var read = 0;
        while (read < destination.Length)
        {
            var n = RandomAccess.Read(handle, destination[read..], offset + read);
            if (n == 0)
                throw new SnapshotHeaderException($"{path} ends at {offset + read}, inside a block the header places there.");
            read += n;
        }
    }

    public void Dispose()
    {
        foreach (var handle in _open.Values)
            handle.Dispose();
    }
}
