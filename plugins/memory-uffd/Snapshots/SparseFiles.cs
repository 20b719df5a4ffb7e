using System.Runtime.InteropServices;

namespace Wrenn.Plugins.Memory.Uffd.Snapshots;

/// <summary>Which blocks of a sparse file hold data (SEEK_DATA / SEEK_HOLE): the dirty pages of a diff snapshot.</summary>
public static partial class SparseFiles
{
    private const int SeekData = 3;
    private const int SeekHole = 4;
    private const int ENXIO = 6;

    public static IEnumerable<long> DataBlocks(string path, int blockSize)
    {
        var found = new List<long>();
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var fd = (int)handle.DangerousGetHandle();
        var length = RandomAccess.GetLength(handle);
        long at = 0;
        while (at < length)
        {
            var data = lseek(fd, at, SeekData);
            if (data < 0)
            {
                if (Marshal.GetLastPInvokeError() == ENXIO)
                    break; // no data after this point
                throw new IOException($"SEEK_DATA on {path} failed: errno {Marshal.GetLastPInvokeError()}");
            }
            var hole = lseek(fd, data, SeekHole);
            for (var block = data / blockSize; block * blockSize < hole; block++)
                found.Add(block);
            at = hole;
        }
        return found;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial long lseek(int fd, long offset, int whence);
}
