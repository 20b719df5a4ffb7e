using System.Runtime.InteropServices;

namespace Wrenn.Guest.Agent.Interop;

/// <summary>The libc calls .NET has no API for: signals, the clock, the RNG, terminals, inotify, poll.</summary>
internal static unsafe partial class Native
{
    public const int EIntr = 4;
    public const int EIo = 5;
    public const int EAgain = 11;
    public const int OCloexec = 0x80000;
    public const int ONonblock = 0x800;
    public const int ORdwr = 2;
    public const int ONoctty = 0x100;
    public const short PollIn = 0x1;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int signal);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int clock_settime(int clockId, in Timespec time);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* argument);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int posix_openpt(int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int grantpt(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int unlockpt(int fd);

    [LibraryImport("libc")]
    public static partial int ptsname_r(int fd, byte* buffer, nuint length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int inotify_init1(int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int inotify_add_watch(int fd, string path, uint mask);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int inotify_rm_watch(int fd, int wd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initial, int flags);

    public static int LastError => Marshal.GetLastPInvokeError();

    public static string ErrorText(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";

    public const int ClockRealtime = 0;

    /// <summary>_IOW('R', 0x03, int[2]): add entropy to the kernel pool and credit it.</summary>
    public const nuint RndAddEntropy = 0x40085203;

    /// <summary>_IO('R', 0x07): reseed the CRNG from the input pool now.</summary>
    public const nuint RndReseedCrng = 0x5207;

    /// <summary>Set a terminal's window size (struct winsize); the foreground group gets SIGWINCH.</summary>
    public const nuint TiocSWinSz = 0x5414;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct WinSize
    {
        public ushort Rows;
        public ushort Cols;
        public ushort XPixels;
        public ushort YPixels;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }
}
