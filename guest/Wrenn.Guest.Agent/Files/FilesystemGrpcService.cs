using Google.Protobuf;
using Grpc.Core;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Files;

/// <summary>The Filesystem service. Paths must be absolute; failures map to status codes a caller can act on.</summary>
internal sealed class FilesystemGrpcService(ILogger<FilesystemGrpcService> logger) : FilesystemService.FilesystemServiceBase
{
    private const int DefaultChunkBytes = 64 * 1024;
    private const int MaxChunkBytes = 4 * 1024 * 1024;
    private const UnixFileMode DefaultFileMode = (UnixFileMode)0x1A4; // 0644

    public override Task<EntryInfo> Stat(StatRequest request, ServerCallContext context) =>
        Run(() => Entries.Info(Entries.Absolute(request.Path), mustExist: true));

    public override Task<ListResponse> List(ListRequest request, ServerCallContext context) => Run(() =>
    {
        var path = Entries.Absolute(request.Path);
        if (File.Exists(path))
            throw Errors.FailedPrecondition($"'{path}' is a file, not a directory.");
        var response = new ListResponse();
        foreach (var entry in new DirectoryInfo(path).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
            response.Entries.Add(Entries.Info(entry));
        return response;
    });

    public override Task<EntryInfo> MakeDir(MakeDirRequest request, ServerCallContext context) => Run(() =>
    {
        var path = Entries.Absolute(request.Path);
        if (File.Exists(path))
            throw Errors.AlreadyExists($"'{path}' exists and is a file.");
        if (!request.Parents && !Directory.Exists(Path.GetDirectoryName(path)))
            throw Errors.NotFound($"The parent of '{path}' does not exist (set parents to create it).");
        Directory.CreateDirectory(path);
        return Entries.Info(path, mustExist: true);
    });

    public override Task<EntryInfo> Move(MoveRequest request, ServerCallContext context) => Run(() =>
    {
        var source = Entries.Absolute(request.Source);
        var destination = Entries.Absolute(request.Destination);
        if (Directory.Exists(source))
        {
            if (Directory.Exists(destination) || File.Exists(destination))
            {
                if (!request.Overwrite)
                    throw Errors.AlreadyExists($"'{destination}' exists (set overwrite to replace it).");
                if (Directory.Exists(destination))
                    Directory.Delete(destination, recursive: true);
                else
                    File.Delete(destination);
            }
            Directory.Move(source, destination);
        }
        else if (File.Exists(source))
        {
            File.Move(source, destination, request.Overwrite);
        }
        else
        {
            throw Errors.NotFound($"'{source}' does not exist.");
        }
        return Entries.Info(destination, mustExist: true);
    });

    public override Task<RemoveResponse> Remove(RemoveRequest request, ServerCallContext context) => Run(() =>
    {
        var path = Entries.Absolute(request.Path);
        if (path == "/")
            throw Errors.InvalidArgument("'/' cannot be removed.");
        if (Directory.Exists(path) && !Entries.IsSymlink(path))
            Directory.Delete(path, request.Recursive);
        else if (File.Exists(path) || Entries.IsSymlink(path))
            File.Delete(path);
        else
            throw Errors.NotFound($"'{path}' does not exist.");
        return new RemoveResponse();
    });

    public override async Task Read(ReadRequest request, IServerStreamWriter<ReadChunk> responseStream, ServerCallContext context)
    {
        var path = Entries.Absolute(request.Path);
        var chunkBytes = request.ChunkSize is > 0 and <= MaxChunkBytes ? request.ChunkSize : DefaultChunkBytes;
        FileStream file;
        try
        {
            if (Directory.Exists(path))
                throw Errors.FailedPrecondition($"'{path}' is a directory, not a file.");
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, useAsync: true);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Entries.Translate(e, path);
        }
        await using (file)
        {
            file.Position = Math.Min(request.Offset, file.Length);
            var remaining = request.Length > 0 ? request.Length : long.MaxValue;
            var buffer = new byte[chunkBytes];
            while (remaining > 0)
            {
                var offset = file.Position;
                var n = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), context.CancellationToken);
                if (n == 0)
                    break;
                remaining -= n;
                await responseStream.WriteAsync(new ReadChunk { Data = ByteString.CopyFrom(buffer, 0, n), Offset = offset }, context.CancellationToken);
            }
        }
    }

    public override async Task<EntryInfo> Write(WriteRequest request, ServerCallContext context)
    {
        var path = Entries.Absolute(request.Path);
        try
        {
            await using (var file = OpenForWrite(path, request))
            {
                if (!request.Truncate && request.Offset > file.Length)
                    throw Errors.OutOfRange($"Offset {request.Offset} is past the end of '{path}' ({file.Length} bytes): write chunks in order.");
                file.Position = request.Offset;
                await file.WriteAsync(request.Data.Memory, context.CancellationToken);
            }
            return Entries.Info(path, mustExist: true);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Entries.Translate(e, path);
        }
    }

    public override async Task<EntryInfo> WriteStream(IAsyncStreamReader<WriteRequest> requestStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken))
            throw Errors.InvalidArgument("WriteStream got no message: the first one names the file.");
        var first = requestStream.Current;
        var path = Entries.Absolute(first.Path);
        first.Truncate = true;
        try
        {
            await using (var file = OpenForWrite(path, first))
            {
                await file.WriteAsync(first.Data.Memory, context.CancellationToken);
                while (await requestStream.MoveNext(context.CancellationToken))
                    await file.WriteAsync(requestStream.Current.Data.Memory, context.CancellationToken);
            }
            return Entries.Info(path, mustExist: true);
        }
        catch (Exception e) when (e is not RpcException and not OperationCanceledException)
        {
            throw Entries.Translate(e, path);
        }
    }

    public override async Task Watch(WatchRequest request, IServerStreamWriter<FileEvent> responseStream, ServerCallContext context)
    {
        var path = Entries.Absolute(request.Path);
        using var watch = DirectoryWatch.Open(path, request.Recursive);
        // The headers tell the caller the watch is in place: changes from now on are seen.
        await context.WriteResponseHeadersAsync(new Metadata { { Wrenn.Guest.Protocol.AgentEndpoint.WatchReadyHeader, "ready" } });
        try
        {
            await foreach (var e in watch.ReadAllAsync(context.CancellationToken))
                await responseStream.WriteAsync(e, context.CancellationToken);
        }
        catch (Exception e) when (e is not RpcException and not OperationCanceledException)
        {
            AgentLog.WatchFailed(logger, e, path);
            throw Errors.Internal($"The watch of '{path}' failed: {e.Message}");
        }
    }

    private static FileStream OpenForWrite(string path, WriteRequest request)
    {
        if (request.MakeParents)
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (Directory.Exists(path))
            throw Errors.FailedPrecondition($"'{path}' is a directory.");
        return new FileStream(path, new FileStreamOptions
        {
            Mode = request.Truncate ? FileMode.Create : FileMode.OpenOrCreate,
            Access = FileAccess.Write,
            UnixCreateMode = request.Mode != 0 ? (UnixFileMode)(request.Mode & 0xFFF) : DefaultFileMode,
        });
    }

    private static Task<T> Run<T>(Func<T> action)
    {
        try
        {
            return Task.FromResult(action());
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Entries.Translate(e, null);
        }
    }
}
