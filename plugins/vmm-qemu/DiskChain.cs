using System.Buffers.Binary;
using System.Text;

namespace Wrenn.Plugins.Vmm.Qemu;

/// <summary>
/// The files a disk opens: a qcow2 image names its backing file in its header, and QEMU opens that
/// (and its own backing file, down the chain) by the path written there. A jailed QEMU sees only
/// what is put in its jail, so the chain is read here, from the headers (no qemu-img run per start).
/// </summary>
public static class DiskChain
{
    private const uint QcowMagic = 0x514649fb; // "QFI\xfb"

    /// <summary>The backing files under <paramref name="image"/>, the nearest first (empty for raw images).</summary>
    public static IReadOnlyList<string> BackingFiles(string image, string format)
    {
        var chain = new List<string>();
        while (format == "qcow2" && Header(image) is { BackingFile: { } backing } header)
        {
            var path = Path.GetFullPath(backing, Path.GetDirectoryName(image)!);
            if (chain.Contains(path) || chain.Count > 32)
                throw new InvalidDataException($"The backing chain of {image} loops or is longer than 32 images.");
            chain.Add(path);
            (image, format) = (path, header.BackingFormat ?? "raw");
        }
        return chain;
    }

    /// <summary>The size the guest sees: a qcow2 image's virtual size, a raw file's length (0 for a device).</summary>
    public static long VirtualSize(string image, string format) =>
        format == "qcow2" && Header(image) is { } header ? header.Size
        : File.Exists(image) && new FileInfo(image) is { Length: var length } ? length : 0;

    private sealed record QcowHeader(long Size, string? BackingFile, string? BackingFormat);

    private static QcowHeader? Header(string image)
    {
        using var file = new FileStream(image, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var fixedPart = new byte[104];
        if (file.Read(fixedPart) < 72 || BinaryPrimitives.ReadUInt32BigEndian(fixedPart) != QcowMagic)
            return null;
        var version = BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(4));
        var backingOffset = (long)BinaryPrimitives.ReadUInt64BigEndian(fixedPart.AsSpan(8));
        var backingLength = (int)BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(16));
        var size = (long)BinaryPrimitives.ReadUInt64BigEndian(fixedPart.AsSpan(24));
        string? backing = null;
        if (backingOffset != 0 && backingLength is > 0 and < 4096)
        {
            var name = new byte[backingLength];
            file.Position = backingOffset;
            file.ReadExactly(name);
            backing = Encoding.UTF8.GetString(name);
        }
        return new QcowHeader(size, backing, version >= 3 ? BackingFormat(file, fixedPart) : null);
    }

    /// <summary>The backing format header extension (type 0xe2792aca) of a version 3 image, if it has one.</summary>
    private static string? BackingFormat(FileStream file, byte[] fixedPart)
    {
        var headerLength = (int)BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(100));
        file.Position = headerLength;
        var extension = new byte[8];
        for (var i = 0; i < 64 && file.Read(extension) == 8; i++)
        {
            var type = BinaryPrimitives.ReadUInt32BigEndian(extension);
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(extension.AsSpan(4));
            if (type == 0 || length is < 0 or > 65536)
                return null;
            var data = new byte[length];
            file.ReadExactly(data);
            if (type == 0xe2792aca)
                return Encoding.UTF8.GetString(data);
            file.Position += (8 - length % 8) % 8;
        }
        return null;
    }
}
