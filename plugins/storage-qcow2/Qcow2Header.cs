using System.Buffers.Binary;
using System.Text;

namespace Wrenn.Plugins.Storage.Qcow2;

/// <summary>
/// What a qcow2 header says of the image: its virtual size and its backing file. Read directly, so
/// that freezing a disk in use costs no qemu-img run (which would also meet the VM's image lock).
/// </summary>
internal sealed record Qcow2Header(long Size, string? BackingFile)
{
    private const uint Magic = 0x514649fb; // "QFI\xfb"

    public static Qcow2Header? Read(string image)
    {
        using var file = new FileStream(image, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var head = new byte[32];
        if (file.Read(head) < 32 || BinaryPrimitives.ReadUInt32BigEndian(head) != Magic)
            return null;
        var backingOffset = (long)BinaryPrimitives.ReadUInt64BigEndian(head.AsSpan(8));
        var backingLength = (int)BinaryPrimitives.ReadUInt32BigEndian(head.AsSpan(16));
        var size = (long)BinaryPrimitives.ReadUInt64BigEndian(head.AsSpan(24));
        string? backing = null;
        if (backingOffset != 0 && backingLength is > 0 and < 4096)
        {
            var name = new byte[backingLength];
            file.Position = backingOffset;
            file.ReadExactly(name);
            backing = Encoding.UTF8.GetString(name);
        }
        return new Qcow2Header(size, backing);
    }

    /// <summary>The files under <paramref name="image"/>, the nearest first (empty for a raw image).</summary>
    public static IReadOnlyList<string> Chain(string image)
    {
        var chain = new List<string>();
        while (Read(image) is { BackingFile: { } backing })
        {
            var path = Path.GetFullPath(backing, Path.GetDirectoryName(image)!);
            if (chain.Contains(path) || chain.Count > 64)
                throw new InvalidDataException($"The backing chain of {image} loops or is longer than 64 images.");
            chain.Add(path);
            if (!File.Exists(path))
                break;
            image = path;
        }
        return chain;
    }
}
