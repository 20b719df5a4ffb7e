using System.Runtime.CompilerServices;
using Google.Protobuf;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.Connect;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Services;

/// <summary>The Filesystem service. Paths must be absolute; failures map to Connect codes a caller can act on.</summary>
internal static class FilesystemEndpoints
{
    private const int DefaultChunkBytes = 64 * 1024;
    private const int MaxChunkBytes = 4 * 1024 * 1024;

    public static void Map(ConnectServer server)
    {
        server.Unary(AgentEndpoint.Filesystem.Stat, StatRequest.Parser, (r, _) => Run(() => Info(Absolute(r.Path), mustExist: true)));
        server.Unary(AgentEndpoint.Filesystem.List, ListRequest.Parser, (r, _) => Run(() =>
        {
            var path = Absolute(r.Path);
            if (File.Exists(path))
                throw new ConnectException(ConnectCode.FailedPrecondition, $"'{path}' is a file, not a directory.");
            var response = new ListResponse();
            foreach (var entry in new DirectoryInfo(path).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
                response.Entries.Add(Info(entry));
            return response;
        }));
        server.Unary(AgentEndpoint.Filesystem.MakeDir, MakeDirRequest.Parser, (r, _) => Run(() =>
        {
            var path = Absolute(r.Path);
            if (File.Exists(path))
                throw new ConnectException(ConnectCode.AlreadyExists, $"'{path}' exists and is a file.");
            if (!r.Parents && !Directory.Exists(Path.GetDirectoryName(path)))
                throw new ConnectException(ConnectCode.NotFound, $"The parent of '{path}' does not exist (set parents to create it).");
            Directory.CreateDirectory(path);
            return Info(path, mustExist: true);
        }));
        server.Unary(AgentEndpoint.Filesystem.Move, MoveRequest.Parser, (r, _) => Run(() =>
        {
            var source = Absolute(r.Source);
            var destination = Absolute(r.Destination);
            if (Directory.Exists(source))
            {
                if (r.Overwrite && Directory.Exists(destination))
                    Directory.Delete(destination, recursive: true);
                Directory.Move(source, destination);
            }
            else if (File.Exists(source))
                File.Move(source, destination, r.Overwrite);
            else
                throw new ConnectException(ConnectCode.NotFound, $"'{source}' does not exist.");
            return Info(destination, mustExist: true);
        }));
        server.Unary(AgentEndpoint.Filesystem.Remove, RemoveRequest.Parser, (r, _) => Run(() =>
        {
            var path = Absolute(r.Path);
            if (Directory.Exists(path) && !IsSymlink(path))
                Directory.Delete(path, r.Recursive);
            else if (File.Exists(path) || IsSymlink(path))
                File.Delete(path);
            else
                throw new ConnectException(ConnectCode.NotFound, $"'{path}' does not exist.");
            return new RemoveResponse();
        }));
        server.ServerStream(AgentEndpoint.Filesystem.Read, ReadRequest.Parser, (r, call) => ReadAsync(r, call.CancellationToken));
        server.Unary(AgentEndpoint.Filesystem.Write, WriteRequest.Parser, async (r, call) =>
        {
            var path = Absolute(r.Path);
            try
            {
                if (r.MakeParents)
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                if (Directory.Exists(path))
                    throw new ConnectException(ConnectCode.FailedPrecondition, $"'{path}' is a directory.");
                var options = new FileStreamOptions
                {
                    Mode = r.Truncate ? FileMode.Create : FileMode.OpenOrCreate,
                    Access = FileAccess.Write,
                    UnixCreateMode = r.Mode != 0 ? (UnixFileMode)(r.Mode & 0xFFF) : (UnixFileMode)0x1A4, // 0644
                };
                await using (var file = new FileStream(path, options))
                {
                    if (!r.Truncate && r.Offset > file.Length)
                        throw new ConnectException(ConnectCode.OutOfRange, $"Offset {r.Offset} is past the end of '{path}' ({file.Length} bytes): write chunks in order.");
                    file.Position = r.Offset;
                    await file.WriteAsync(r.Data.Memory, call.CancellationToken);
                }
                return Info(path, mustExist: true);
            }
            catch (Exception e) when (e is not ConnectException)
            {
                throw Translate(e, path);
            }
        });
    }

    private static async IAsyncEnumerable<ReadChunk> ReadAsync(ReadRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = Absolute(request.Path);
        var chunkBytes = request.ChunkSize is > 0 and <= MaxChunkBytes ? request.ChunkSize : DefaultChunkBytes;
        FileStream file;
        try
        {
            if (Directory.Exists(path))
                throw new ConnectException(ConnectCode.FailedPrecondition, $"'{path}' is a directory, not a file.");
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, useAsync: true);
        }
        catch (Exception e) when (e is not ConnectException)
        {
            throw Translate(e, path);
        }
        await using (file)
        {
            file.Position = Math.Min(request.Offset, file.Length);
            var remaining = request.Length > 0 ? request.Length : long.MaxValue;
            var buffer = new byte[chunkBytes];
            while (remaining > 0)
            {
                var offset = file.Position;
                var n = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken);
                if (n == 0)
                    break;
                remaining -= n;
                yield return new ReadChunk { Data = ByteString.CopyFrom(buffer, 0, n), Offset = offset };
            }
        }
    }

    private static Task<T> Run<T>(Func<T> action)
    {
        try
        {
            return Task.FromResult(action());
        }
        catch (Exception e) when (e is not ConnectException)
        {
            throw Translate(e, null);
        }
    }

    private static string Absolute(string path)
    {
        if (string.IsNullOrEmpty(path) || !path.StartsWith('/'))
            throw new ConnectException(ConnectCode.InvalidArgument, $"Path '{path}' is not absolute: paths in the guest start with '/'.");
        if (path.Contains('\0'))
            throw new ConnectException(ConnectCode.InvalidArgument, "The path contains a NUL character.");
        return path.Length > 1 ? path.TrimEnd('/') : path;
    }

    private static bool IsSymlink(string path) => new FileInfo(path).LinkTarget is not null;

    private static EntryInfo Info(string path, bool mustExist)
    {
        FileSystemInfo entry = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
        if (mustExist && !entry.Exists && entry.LinkTarget is null)
            throw new ConnectException(ConnectCode.NotFound, $"'{path}' does not exist.");
        return Info(entry);
    }

    private static EntryInfo Info(FileSystemInfo entry)
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

    private static ConnectException Translate(Exception e, string? path) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException =>
            new ConnectException(ConnectCode.NotFound, path is null ? e.Message : $"'{path}' (or a folder above it) does not exist."),
        UnauthorizedAccessException => new ConnectException(ConnectCode.PermissionDenied, e.Message),
        PathTooLongException => new ConnectException(ConnectCode.InvalidArgument, e.Message),
        IOException io when io.Message.Contains("exists", StringComparison.OrdinalIgnoreCase) =>
            new ConnectException(ConnectCode.AlreadyExists, e.Message),
        IOException io when io.Message.Contains("not empty", StringComparison.OrdinalIgnoreCase) =>
            new ConnectException(ConnectCode.FailedPrecondition, e.Message + " (set recursive to remove it with its content)"),
        IOException => new ConnectException(ConnectCode.Internal, e.Message),
        _ => new ConnectException(ConnectCode.Internal, e.Message),
    };
}
