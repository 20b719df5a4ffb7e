using System.ComponentModel;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Wrenn.Silo.Sandboxes;

/// <summary>
/// Copies a sparse file (a guest's RAM file) as fast as the filesystem allows, for a fork while the
/// source's vCPUs are stopped: a reflink (FICLONE) where the filesystem shares blocks (XFS, Btrfs),
/// else only its data extents (SEEK_DATA/SEEK_HOLE) with copy_file_range, in the kernel and without
/// a process to start. On this machine's ext4 that is ≈40 ms for 128 MiB written against ≈60 ms for
/// <c>cp --sparse=always</c>, which reads the holes too and starts a process (docs/ARCHITECTURE.md, "Fork").
/// </summary>
public static class SparseCopy
{
    private const ulong Ficlone = 0x40049409;
    private const int SeekData = 3;
    private const int SeekHole = 4;
    private const int Enxio = 6;

    /// <summary>Copies <paramref name="source"/> to a new file <paramref name="destination"/> (read-only for all) and says how.</summary>
    public static string Copy(string source, string destination)
    {
        using var from = File.OpenHandle(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var to = File.OpenHandle(destination, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        try
        {
            if (ioctl(Fd(to), Ficlone, Fd(from)) == 0)
                return "reflink";
            var length = RandomAccess.GetLength(from);
            RandomAccess.SetLength(to, length);
            long offset = 0;
            while (offset < length)
            {
                var data = lseek(Fd(from), offset, SeekData);
                if (data < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Enxio)
                        break; // only a hole is left
                    throw new Win32Exception(Marshal.GetLastPInvokeError(), $"SEEK_DATA in {source}");
                }
                var hole = lseek(Fd(from), data, SeekHole);
                if (hole < 0)
                    throw new Win32Exception(Marshal.GetLastPInvokeError(), $"SEEK_HOLE in {source}");
                long inAt = data, outAt = data;
                while (inAt < hole)
                {
                    var copied = copy_file_range(Fd(from), ref inAt, Fd(to), ref outAt, (nuint)(hole - inAt), 0);
                    if (copied < 0)
                        throw new Win32Exception(Marshal.GetLastPInvokeError(), $"copy_file_range from {source}");
                    if (copied == 0)
                        break;
                }
                offset = hole;
            }
            return "extents";
        }
        catch
        {
            to.Dispose();
            File.Delete(destination);
            throw;
        }
        finally
        {
            if (File.Exists(destination))
                File.SetUnixFileMode(destination, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
    }

    private static int Fd(SafeFileHandle handle) => (int)handle.DangerousGetHandle();

    [DllImport("libc", SetLastError = true)]
    private static extern int ioctl(int fd, ulong request, int source);

    [DllImport("libc", SetLastError = true)]
    private static extern long lseek(int fd, long offset, int whence);

    [DllImport("libc", SetLastError = true)]
    private static extern long copy_file_range(int fdIn, ref long offIn, int fdOut, ref long offOut, nuint length, uint flags);
}
