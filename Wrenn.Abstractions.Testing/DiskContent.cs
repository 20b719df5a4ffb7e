using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;

namespace Wrenn.Abstractions.Testing;

/// <summary>Writes and checks byte patterns in a disk as a guest would see them, for the formats VMMs attach: raw (a file or a block device) and qcow2 (through qemu-io).</summary>
public static class DiskContent
{
    public static async Task WriteAsync(PreparedDisk disk, byte pattern, long offset, int length)
    {
        switch (disk.Format)
        {
            case "raw":
                await using (var file = new FileStream(disk.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
                {
                    file.Position = offset;
                    await file.WriteAsync(Enumerable.Repeat(pattern, length).ToArray());
                    await file.FlushAsync();
                }
                break;
            case "qcow2":
                await HostCommand.RunAsync("qemu-io", ["-f", "qcow2", "-c", $"write -P {pattern} {offset} {length}", disk.Path], CancellationToken.None);
                break;
            default:
                throw new NotSupportedException($"The kit reads raw and qcow2 disks; override the storage test's content methods for '{disk.Format}'.");
        }
    }

    public static async Task<bool> HoldsAsync(PreparedDisk disk, byte pattern, long offset, int length) => disk.Format switch
    {
        "raw" => await RawHoldsAsync(disk.Path, pattern, offset, length),
        "qcow2" => !(await HostCommand.RunAsync("qemu-io", ["-f", "qcow2", "-r", "-U", "-c", $"read -P {pattern} {offset} {length}", disk.Path], CancellationToken.None))
            .Contains("Pattern verification failed", StringComparison.Ordinal),
        _ => throw new NotSupportedException($"The kit reads raw and qcow2 disks; override the storage test's content methods for '{disk.Format}'."),
    };

    public static async Task<bool> RawHoldsAsync(string path, byte pattern, long offset, int length)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        file.Position = offset;
        var buffer = new byte[length];
        await file.ReadExactlyAsync(buffer);
        return buffer.All(b => b == pattern);
    }

    /// <summary>A raw image of <paramref name="bytes"/>, sparse except for its first MiB, which holds <paramref name="pattern"/>.</summary>
    public static async Task<string> MakeBaseImageAsync(string path, byte pattern, long bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        await file.WriteAsync(Enumerable.Repeat(pattern, 1024 * 1024).ToArray());
        file.SetLength(bytes);
        return path;
    }
}
