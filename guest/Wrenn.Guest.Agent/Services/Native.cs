using System.Runtime.InteropServices;

namespace Wrenn.Guest.Agent.Services;

/// <summary>The few libc calls .NET has no API for.</summary>
internal static unsafe partial class Native
{
    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int signal);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int clock_settime(int clockId, in Timespec time);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, byte* argument);

    public const int ClockRealtime = 0;

    /// <summary>_IOW('R', 0x03, int[2]): add entropy to the kernel pool and credit it.</summary>
    public const nuint RndAddEntropy = 0x40085203;

    /// <summary>_IO('R', 0x07): reseed the CRNG from the input pool now.</summary>
    public const nuint RndReseedCrng = 0x5207;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
