using System.Runtime.CompilerServices;
using Grpc.Core;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Silo.Grains;

/// <summary>
/// Files and folders in the guest: each call a shared turn (a read holds its turn while it streams);
/// a directory watch holds none once it is in place, and ends when the sandbox pauses or is destroyed.
/// </summary>
public sealed partial class SandboxGrain
{
    public async IAsyncEnumerable<byte[]> ReadFileAsync(Caller caller, string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var busy = Busy();
        using var turn = await EnterForVmAsync(caller, cancellationToken);
        var agent = RunningAgent(caller);
        await using var chunks = agent.ReadFileAsync(path, turn.Token).GetAsyncEnumerator(turn.Token);
        while (true)
        {
            try
            {
                if (!await chunks.MoveNextAsync())
                    yield break;
            }
            catch (AgentException e)
            {
                throw FileFailed(e, path);
            }
            yield return chunks.Current.ToArray();
        }
    }

    public Task<FileEntry> WriteFileAsync(Caller caller, string path, byte[] content, CancellationToken cancellationToken) =>
        CallAgentAsync(caller, $"Writing {path}", async (agent, token) => ToEntry(await agent.WriteAllBytesAsync(path, content, token)),
            e => FileFailed(e, path), cancellationToken);

    public Task<FileEntry> WriteFileChunkAsync(Caller caller, string path, long offset, byte[] data, bool truncate, CancellationToken cancellationToken) =>
        CallAgentAsync(caller, $"Writing {path}", async (agent, token) =>
        {
            if (offset < 0)
                throw new GrainException(ErrorCodes.InvalidArgument, $"A write offset cannot be negative (got {offset}).");
            return ToEntry(await agent.WriteChunkAsync(path, offset, data, truncate, token));
        }, e => FileFailed(e, path), cancellationToken);

    public Task<IReadOnlyList<FileEntry>> ListDirAsync(Caller caller, string path, CancellationToken cancellationToken) =>
        CallAgentAsync<IReadOnlyList<FileEntry>>(caller, $"Listing {path}", async (agent, token) => (await agent.ListAsync(path, token)).Select(ToEntry).ToList(),
            e => FileFailed(e, path), cancellationToken);

    public Task<FileEntry?> StatAsync(Caller caller, string path, CancellationToken cancellationToken) =>
        CallAgentAsync<FileEntry?>(caller, $"Looking up {path}", async (agent, token) =>
        {
            try
            {
                return ToEntry(await agent.StatAsync(path, token));
            }
            catch (AgentException e) when (e.Code == StatusCode.NotFound)
            {
                return null; // nothing there: an answer, not an error
            }
        }, e => FileFailed(e, path), cancellationToken);

    public Task<FileEntry> MakeDirAsync(Caller caller, string path, CancellationToken cancellationToken) =>
        CallAgentAsync(caller, $"Making {path}", async (agent, token) => ToEntry(await agent.MakeDirAsync(path, parents: true, token)),
            e => FileFailed(e, path), cancellationToken);

    public Task<FileEntry> MovePathAsync(Caller caller, string from, string to, CancellationToken cancellationToken) =>
        CallAgentAsync(caller, $"Moving {from} to {to}", async (agent, token) => ToEntry(await agent.MoveAsync(from, to, overwrite: false, token)),
            e => FileFailed(e, from, $"Moving {from} to {to}"), cancellationToken);

    public Task RemovePathAsync(Caller caller, string path, bool recursive, CancellationToken cancellationToken) =>
        CallAgentAsync(caller, $"Removing {path}", (agent, token) => agent.RemoveAsync(path, recursive, token),
            e => FileFailed(e, path), cancellationToken);

    public IAsyncEnumerable<FileChange> WatchDirAsync(Caller caller, string path, bool recursive, CancellationToken cancellationToken) =>
        DetachedStreamAsync<FileEvent, FileChange>(caller,
            async (agent, token) => Owned(await agent.WatchAsync(path, recursive, token), token),
            ToChange, e => WatchFailed(e, path), cancellationToken);

    /// <summary>The watch's events; the call (and with it the guest's inotify instance) ends with the enumeration.</summary>
    private static async IAsyncEnumerable<FileEvent> Owned(AgentStream<FileEvent> watch, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using (watch)
        {
            await foreach (var change in watch.WithCancellation(cancellationToken))
                yield return change;
        }
    }

    private static FileChange? ToChange(FileEvent change) => change.Type switch
    {
        FileEventType.Create => new(FileChangeKind.Create, change.Path, null, change.IsDirectory),
        FileEventType.Write => new(FileChangeKind.Write, change.Path, null, change.IsDirectory),
        FileEventType.Remove => new(FileChangeKind.Remove, change.Path, null, change.IsDirectory),
        FileEventType.Rename => new(FileChangeKind.Rename, change.Path, change.OldPath.Length > 0 ? change.OldPath : null, change.IsDirectory),
        FileEventType.Chmod => new(FileChangeKind.Chmod, change.Path, null, change.IsDirectory),
        _ => null, // a kind a newer agent reports and this silo does not know
    };

    /// <summary>The API's file errors: a missing path is NOT_FOUND, anything else the caller asked wrongly INVALID_ARGUMENT.</summary>
    private static GrainException FileFailed(AgentException e, string path, string? subject = null) => e.Code switch
    {
        StatusCode.NotFound when subject is null => new(ErrorCodes.NotFound, $"{path}: no such file or directory in the sandbox."),
        StatusCode.NotFound => new(ErrorCodes.NotFound, $"{subject}: {e.Message}"),
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.AlreadyExists or StatusCode.PermissionDenied =>
            new(ErrorCodes.InvalidArgument, $"{subject ?? path}: {e.Message}"),
        _ => new(ErrorCodes.Unavailable, $"{subject ?? path}: the sandbox's agent did not answer ({e.Message})."),
    };

    /// <summary>A watch of something that is not a folder is the caller's mistake (INVALID_ARGUMENT), a missing one too.</summary>
    private static GrainException WatchFailed(AgentException e, string path) => e.Code switch
    {
        StatusCode.NotFound => new(ErrorCodes.InvalidArgument, $"{path}: no such folder in the sandbox to watch."),
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.PermissionDenied => new(ErrorCodes.InvalidArgument, $"{path}: {e.Message}"),
        StatusCode.ResourceExhausted => new(ErrorCodes.ResourceExhausted, $"Watching {path}: {e.Message}"),
        StatusCode.DataLoss => new(ErrorCodes.ResourceExhausted, $"Watching {path}: changes came faster than the guest could queue them and some were lost ({e.Message}); watch again."),
        _ => new(ErrorCodes.Unavailable, $"Watching {path}: the sandbox's agent did not answer ({e.Message})."),
    };

    private static FileEntry ToEntry(EntryInfo entry) =>
        new(entry.Path, entry.Name, entry.Type == EntryType.Directory, entry.Size,
            entry.ModifiedUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(entry.ModifiedUnixMs) : null);
}
