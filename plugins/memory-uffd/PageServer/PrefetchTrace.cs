using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Wrenn.Plugins.Memory.Uffd.PageServer;

/// <summary>A trace that cannot be used; the restore goes on without prefetching.</summary>
public sealed class PrefetchTraceException(string message) : Exception(message);

/// <summary>One run of guest memory in a trace: <see cref="Pages"/> 4 KiB pages from guest offset <see cref="Start"/> × 4 KiB.</summary>
public readonly record struct TraceRun(uint Start, uint Pages);

/// <summary>
/// The order a restore's pages were first served in (faults, and what was read ahead of them), as
/// runs of guest memory: written beside the snapshot at pause, replayed ahead of the guest on the
/// next restore (E2B's prefetch traces). Only a hint: a page it names is served as the snapshot
/// holds it, and a missing or corrupt trace only means no prefetch.
/// Layout, little-endian: magic <c>WRNTRACE</c>, version (4), run count N (4), N × (start page 4,
/// pages 4), SHA-256 of everything before it (32).
/// </summary>
public sealed class PrefetchTrace
{
    public const int Version = 1;
    public const ulong Unit = 4096;
    private static readonly byte[] Magic = "WRNTRACE"u8.ToArray();

    private readonly Lock _lock = new();
    private readonly List<TraceRun> _runs;

    public PrefetchTrace(IEnumerable<TraceRun>? runs = null) => _runs = [.. runs ?? []];

    /// <summary>The runs in the order they were served, adjacent ones merged.</summary>
    public IReadOnlyList<TraceRun> Runs
    {
        get
        {
            lock (_lock)
                return [.. _runs];
        }
    }

    public long Pages
    {
        get
        {
            lock (_lock)
                return _runs.Sum(r => (long)r.Pages);
        }
    }

    /// <summary>Appends what was just served; one lock and no allocation unless the list grows (a run extending the last one merges).</summary>
    public void Record(ulong memoryOffset, ulong bytes)
    {
        var start = (uint)(memoryOffset / Unit);
        var pages = (uint)Math.Max(1, bytes / Unit);
        lock (_lock)
        {
            if (_runs.Count > 0 && _runs[^1] is var last && last.Start + last.Pages == start)
                _runs[^1] = last with { Pages = last.Pages + pages };
            else
                _runs.Add(new TraceRun(start, pages));
        }
    }

    /// <summary>Writes the trace atomically (a temporary file, then renamed), so a reader never sees half of one.</summary>
    public void Write(string path)
    {
        var runs = Runs;
        var bytes = new byte[Magic.Length + 8 + runs.Count * 8];
        Magic.CopyTo(bytes, 0);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), Version);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), runs.Count);
        for (var i = 0; i < runs.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16 + i * 8), runs[i].Start);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(20 + i * 8), runs[i].Pages);
        }
        using (var file = new FileStream(path + ".tmp", FileMode.Create, FileAccess.Write))
        {
            file.Write(bytes);
            file.Write(SHA256.HashData(bytes));
        }
        File.Move(path + ".tmp", path, overwrite: true);
    }

    public static PrefetchTrace Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < Magic.Length + 8 + 32 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new PrefetchTraceException($"{path} is not a Wrenn prefetch trace (bad magic or too short: {bytes.Length} bytes).");
        var body = bytes.AsSpan(0, bytes.Length - 32);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes.AsSpan(body.Length)))
            throw new PrefetchTraceException($"{path} is corrupted or truncated: its checksum does not match.");
        var version = BinaryPrimitives.ReadInt32LittleEndian(body[8..]);
        if (version != Version)
            throw new PrefetchTraceException($"{path} is a version {version} prefetch trace; this page server reads version {Version}.");
        var count = BinaryPrimitives.ReadInt32LittleEndian(body[12..]);
        if (count < 0 || body.Length != 16 + (long)count * 8)
            throw new PrefetchTraceException($"{path} says {count} runs but holds {(body.Length - 16) / 8}.");
        var runs = new TraceRun[count];
        for (var i = 0; i < count; i++)
            runs[i] = new TraceRun(BinaryPrimitives.ReadUInt32LittleEndian(body[(16 + i * 8)..]), BinaryPrimitives.ReadUInt32LittleEndian(body[(20 + i * 8)..]));
        return new PrefetchTrace(runs);
    }
}
