using Grpc.Core;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Files;

/// <summary>Paths and entries: absolute paths only, EntryInfo from the file system, .NET failures as status codes.</summary>
internal static class Entries
{
    public static string Absolute(string path)
    {
        if (string.IsNullOrEmpty(path) || !path.StartsWith('/'))
            throw Errors.InvalidArgument($"Path '{path}' is not absolute: paths in the guest start with '/'.");
        if (path.Contains('\0'))
            throw Errors.InvalidArgument("The path contains a NUL character.");
        return path.Length > 1 ? path.TrimEnd('/') : path;
    }

    public static bool IsSymlink(string path) => new FileInfo(path).LinkTarget is not null;

    public static EntryInfo Info(string path, bool mustExist)
    {
        FileSystemInfo entry = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
        if (mustExist && !entry.Exists && entry.LinkTarget is null)
            throw Errors.NotFound($"'{path}' does not exist.");
        return Info(entry);
    }

    public static EntryInfo Info(FileSystemInfo entry)
    {
        var type = entry.LinkTarget is not null ? EntryType.Symlink
            : entry is DirectoryInfo ? EntryType.Directory
            : (entry.Attributes & FileAttributes.Normal) != 0 || entry is FileInfo ? EntryType.File
            : EntryType.Other;
        return new EntryInfo
        {
            Path = entry.FullName,
            Name = entry.Name,
            Type = type,
            Size = entry is FileInfo file && file.Exists ? file.Length : 0,
            Mode = (uint)entry.UnixFileMode,
            ModifiedUnixMs = new DateTimeOffset(entry.LastWriteTimeUtc).ToUnixTimeMilliseconds(),
            SymlinkTarget = entry.LinkTarget ?? "",
        };
    }

    public static RpcException Translate(Exception e, string? path) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException =>
            Errors.NotFound(path is null ? e.Message : $"'{path}' (or a folder above it) does not exist."),
        UnauthorizedAccessException => Errors.PermissionDenied(e.Message),
        PathTooLongException => Errors.InvalidArgument(e.Message),
        IOException io when io.Message.Contains("exists", StringComparison.OrdinalIgnoreCase) => Errors.AlreadyExists(e.Message),
        IOException io when io.Message.Contains("not empty", StringComparison.OrdinalIgnoreCase) =>
            Errors.FailedPrecondition(e.Message + " (set recursive to remove it with its content)"),
        _ => Errors.Internal(e.Message),
    };
}
