using System.Runtime.InteropServices;

namespace Wrenn.Plugins.Memory.Uffd.PageServer;

/// <summary>The Linux calls the page server makes: recvmsg with SCM_RIGHTS, poll, read, the userfaultfd ioctls.</summary>
internal static unsafe partial class Native
{
    public const ulong UffdioCopy = 0xC028AA03;
    public const ulong UffdioZeropage = 0xC020AA04;
    public const ulong UffdioWake = 0x8010AA02;
    public const int ProtRead = 0x1;
    public const int MapShared = 0x1;
    public const byte EventPagefault = 0x12;
    public const byte EventRemove = 0x15;
    public const byte EventUnmap = 0x16;
    public const short PollIn = 0x1;
    public const short PollErr = 0x8;
    public const short PollHup = 0x10;
    public const int EAgain = 11;
    public const int EExist = 17;
    public const int EIntr = 4;
    private const int SolSocket = 1;
    private const int ScmRights = 1;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct UffdioCopyArgs
    {
        public ulong Dst;
        public ulong Src;
        public ulong Len;
        public ulong Mode;
        public long Copy;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct UffdioRange
    {
        public ulong Start;
        public ulong Len;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct UffdioZeropageArgs
    {
        public ulong Start;
        public ulong Len;
        public ulong Mode;
        public long Zeropage;
    }

    /// <summary>Receives one message and the file descriptor sent with it (SCM_RIGHTS); -1 if none came.</summary>
    public static (int Received, int Fd) ReceiveWithFd(int socket, Span<byte> buffer)
    {
        var control = stackalloc byte[64];
        fixed (byte* data = buffer)
        {
            var iov = new IoVec { Base = data, Length = (nuint)buffer.Length };
            var header = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = 64 };
            var received = (int)recvmsg(socket, &header, 0);
            if (received < 0)
                throw new IOException($"recvmsg on the page server's socket failed: errno {Marshal.GetLastPInvokeError()}");
            // struct cmsghdr { size_t len; int level; int type; } then the data, 16 bytes in on 64-bit.
            if (header.ControlLength >= 20 && *(int*)(control + 8) == SolSocket && *(int*)(control + 12) == ScmRights)
                return (received, *(int*)(control + 16));
            return (received, -1);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recvmsg(int socket, void* message, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, void* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, void* argument);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial void* mmap(void* address, nuint length, int protection, int flags, int fd, long offset);

    /// <summary>Makes reads of <paramref name="fd"/> return EAGAIN instead of blocking (the fault threads spin on it between faults).</summary>
    public static void SetNonBlocking(int fd)
    {
        const int GetFlags = 3, SetFlags = 4, NonBlock = 0x800;
        var flags = fcntl(fd, GetFlags, 0);
        if (flags < 0 || fcntl(fd, SetFlags, flags | NonBlock) < 0)
            throw new IOException($"fcntl O_NONBLOCK on the userfaultfd failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(int fd, int command, int argument);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int signal);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int munmap(void* address, nuint length);
}
