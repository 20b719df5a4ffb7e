using System.Runtime.InteropServices;

namespace Wrenn.Plugins.Jail.Roots;

/// <summary>File facts and ownership changes .NET has no API for (stat's type and owner, chown).</summary>
internal static unsafe partial class HostFiles
{
    private const uint TypeMask = 0xF000;
    private const uint CharDevice = 0x2000;
    private const uint BlockDevice = 0x6000;

    /// <summary>The owner and type of a path (symbolic links followed), or null if it does not exist.</summary>
    public static (int Uid, int Gid, bool IsDevice)? Stat(string path)
    {
        // struct stat on x86-64 Linux is 144 bytes: st_mode at 24, st_uid at 28, st_gid at 32.
        var buffer = stackalloc byte[256];
        if (stat(path, buffer) != 0)
            return null;
        var mode = *(uint*)(buffer + 24);
        return (*(int*)(buffer + 28), *(int*)(buffer + 32), (mode & TypeMask) is CharDevice or BlockDevice);
    }

    /// <summary>As <see cref="Stat"/>, but of a symbolic link itself.</summary>
    public static (int Uid, int Gid, bool IsDevice)? Lstat(string path)
    {
        var buffer = stackalloc byte[256];
        if (lstat(path, buffer) != 0)
            return null;
        var mode = *(uint*)(buffer + 24);
        return (*(int*)(buffer + 28), *(int*)(buffer + 32), (mode & TypeMask) is CharDevice or BlockDevice);
    }

    public static bool IsDevice(string path) => Stat(path) is { IsDevice: true };

    /// <summary>Changes a path's owner (not following a final symbolic link).</summary>
    public static void Chown(string path, int uid, int gid)
    {
        if (lchown(path, uid, gid) != 0)
            throw new JailException($"Could not give {path} to uid {uid}: errno {Marshal.GetLastPInvokeError()}.");
    }

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int stat(string path, byte* buffer);

    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int lstat(string path, byte* buffer);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int lchown(string path, int uid, int gid);
}
