using Wrenn.Plugins.Memory.Uffd.Snapshots;
using Wrenn.Testing;

namespace Wrenn.Firecracker.Tests.Snapshots;

/// <summary>The snapshot header: generations of memory, each header complete on its own, collapsing past a bound.</summary>
public sealed class SnapshotHeaderTests : IDisposable
{
    private const int Block = 4096;
    private const int Blocks = 64;
    private readonly string _folder = Directory.CreateTempSubdirectory($"{TestPrefix.Family}-snap-").FullName;
    private readonly byte[] _expected = new byte[Block * Blocks];

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Generation 0: block i holds byte i, except every seventh block, which is zero and not stored.</summary>
    private SnapshotHeader Base()
    {
        bool IsZero(long i) => i % 7 == 0;
        using (var file = File.Create(Path.Combine(_folder, "gen-0")))
        {
            for (var i = 0; i < Blocks; i++)
            {
                var content = new byte[Block];
                if (!IsZero(i))
                    content.AsSpan().Fill((byte)i);
                file.Write(content);
                content.CopyTo(_expected, i * Block);
            }
        }
        return SnapshotHeader.Full(Block * Blocks, Block, "gen-0", IsZero);
    }

    /// <summary>A diff generation: only the dirty blocks, in order, each filled with a value of its own.</summary>
    private SnapshotHeader Diff(SnapshotHeader header, int generation, long[] dirty)
    {
        using (var file = File.Create(Path.Combine(_folder, $"gen-{generation}")))
        {
            foreach (var block in dirty)
            {
                var content = new byte[Block];
                content.AsSpan().Fill((byte)(100 + generation * 10 + block % 10));
                file.Write(content);
                content.CopyTo(_expected, block * Block);
            }
        }
        return header.WithDiff($"gen-{generation}", dirty);
    }

    private void AssertReadsAsExpected(SnapshotHeader header)
    {
        using var files = new GenerationFiles();
        var buffer = new byte[Block];
        for (var i = 0; i < Blocks; i++)
        {
            header.ReadBlock(_folder, i, buffer, files);
            Assert.True(buffer.AsSpan().SequenceEqual(_expected.AsSpan(i * Block, Block)), $"block {i} differs");
        }
    }

    [Fact]
    public void Three_overlapping_diffs_read_as_the_layered_memory_and_the_next_pause_collapses_into_the_same_bytes()
    {
        var header = Base();
        header = Diff(header, 1, [1, 2, 3, 14, 40]);
        header = Diff(header, 2, [2, 3, 4, 7, 63]);   // 7 was a zero block
        header = Diff(header, 3, [3, 40, 41, 0]);     // 0 was a zero block
        header.Write(Path.Combine(_folder, "header"));

        var read = SnapshotHeader.Read(Path.Combine(_folder, "header"));
        Assert.Equal(4, read.Generations.Count);
        Assert.Equal(new BlockLocation(3, 0), read[3]);      // the newest generation holding it …
        Assert.Equal(new BlockLocation(2, 4 * Block), read[63]);
        Assert.True(read[14 * 2].IsZero);                    // … or none: a zero block
        AssertReadsAsExpected(read);

        Assert.True(read.ShouldCollapse(maxDiffGenerations: 3));
        Assert.False(SnapshotHeader.Full(Block * Blocks, Block, "x").WithDiff("y", [5]).ShouldCollapse(maxDiffGenerations: 3));
        var collapsed = read.Collapse(_folder, "full");
        Assert.Equal(["full"], collapsed.Generations);
        AssertReadsAsExpected(collapsed);
        Assert.True(collapsed[21].IsZero);
    }

    [Fact]
    public void A_corrupted_truncated_or_newer_header_is_refused_with_a_clear_error()
    {
        var path = Path.Combine(_folder, "header");
        Diff(Base(), 1, [5, 6]).Write(path);
        var good = File.ReadAllBytes(path);

        var corrupted = (byte[])good.Clone();
        corrupted[100] ^= 0xFF;
        File.WriteAllBytes(path, corrupted);
        Assert.Contains("checksum does not match", Assert.Throws<SnapshotHeaderException>(() => SnapshotHeader.Read(path)).Message);

        File.WriteAllBytes(path, good[..(good.Length / 2)]);
        Assert.Contains("corrupted or truncated", Assert.Throws<SnapshotHeaderException>(() => SnapshotHeader.Read(path)).Message);

        File.WriteAllBytes(path, "not a header at all"u8.ToArray());
        Assert.Contains("not a Wrenn snapshot header", Assert.Throws<SnapshotHeaderException>(() => SnapshotHeader.Read(path)).Message);

        // A version this reader does not know, with a valid checksum.
        var newer = (byte[])good.Clone();
        newer[8] = 2;
        var body = newer.AsSpan(0, newer.Length - 32);
        System.Security.Cryptography.SHA256.HashData(body).CopyTo(newer.AsSpan(newer.Length - 32));
        File.WriteAllBytes(path, newer);
        Assert.Contains("version 2 snapshot header", Assert.Throws<SnapshotHeaderException>(() => SnapshotHeader.Read(path)).Message);
    }
}
