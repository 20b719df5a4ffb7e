using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Vmm;
using Wrenn.Plugins.Memory.Uffd.PageServer;
using Wrenn.Plugins.Memory.Uffd.Snapshots;

namespace Wrenn.Plugins.Memory.Uffd;

/// <summary>Configuration <c>Wrenn:Plugins:uffd</c>.</summary>
public sealed record UffdOptions
{
    /// <summary>Diff generations before the next pause collapses the chain into one full snapshot.</summary>
    public int MaxDiffGenerations { get; init; } = 10;

    public int BlockSize { get; init; } = 4096;
}

/// <summary>
/// Firecracker's memory: booted VMs use the VMM's own memory; a snapshot's memory becomes a
/// generation under a snapshot header (a diff adds only its dirty pages; past the bound the chain
/// collapses); a restore is served on demand by a page server, one per sandbox, watched: if it ends
/// with an error while its VM lives, that is logged as the sandbox's guest losing its memory.
/// </summary>
public sealed partial class UffdMemoryBackend(Microsoft.Extensions.Options.IOptions<UffdOptions> options, ILogger<UffdMemoryBackend> logger) : IMemoryBackend, IAsyncDisposable
{
    private const string HeaderFile = "memory.header";
    private readonly ConcurrentDictionary<string, (Task<UffdPageServer> Server, CancellationTokenSource Stop)> _servers = new();

    public string Name => "uffd";

    public Task<MemoryBacking> PrepareBootAsync(string sandboxId, int memoryMib, string workDir, CancellationToken cancellationToken) =>
        Task.FromResult(new MemoryBacking(MemoryBackingKind.Anonymous, null, false, new Dictionary<string, string>()));

    public Task<SnapshotFiles> CompleteSnapshotAsync(MemoryBacking backing, SnapshotFiles written, CancellationToken cancellationToken)
    {
        var folder = written.Directory;
        var headerPath = Path.Combine(folder, HeaderFile);
        var memory = Path.GetFileName(written.MemoryFiles[0]);
        var bytes = (long)written.MemoryMib * 1024 * 1024;
        SnapshotHeader header;
        if (written.Kind == SnapshotKind.Diff && File.Exists(headerPath))
        {
            var previous = SnapshotHeader.Read(headerPath);
            header = previous.WithSparseDiff(memory, SparseFiles.DataBlocks(written.MemoryFiles[0], options.Value.BlockSize));
            // The chain already has as many diffs as the bound allows: this one collapses it.
            if (previous.ShouldCollapse(options.Value.MaxDiffGenerations))
            {
                var collapsed = header.Collapse(folder, $"memory-full-{DateTime.UtcNow:yyyyMMddHHmmssfff}");
                foreach (var old in header.Generations)
                    File.Delete(Path.Combine(folder, old));
                header = collapsed;
                LogCollapsed(folder, options.Value.MaxDiffGenerations);
            }
        }
        else
        {
            header = SnapshotHeader.Full(bytes, options.Value.BlockSize, memory);
        }
        header.Write(headerPath);
        return Task.FromResult(written with
        {
            MemoryFiles = [.. header.Generations.Select(g => Path.Combine(folder, g))],
            Properties = new Dictionary<string, string>(written.Properties) { ["header"] = headerPath },
        });
    }

    public Task<MemoryBacking> PrepareRestoreAsync(string sandboxId, SnapshotFiles snapshot, string workDir, CancellationToken cancellationToken)
    {
        var headerPath = snapshot.Properties.GetValueOrDefault("header") ?? Path.Combine(snapshot.Directory, HeaderFile);
        var header = SnapshotHeader.Read(headerPath);
        var socket = Path.Combine(workDir, "uffd.sock");
        var stop = new CancellationTokenSource();
        var server = UffdPageServer.AcceptAsync(socket, header, Path.GetDirectoryName(headerPath)!, stop.Token);
        _servers[sandboxId] = (server, stop);
        _ = WatchAsync(sandboxId, server);
        return Task.FromResult(new MemoryBacking(MemoryBackingKind.Uffd, socket, false, new Dictionary<string, string> { ["sandbox"] = sandboxId, ["header"] = headerPath }));
    }

    /// <summary>The page server of a sandbox, once its VMM connected (for tests and diagnostics).</summary>
    public Task<UffdPageServer>? ServerOf(string sandboxId) => _servers.TryGetValue(sandboxId, out var s) ? s.Server : null;

    private async Task WatchAsync(string sandboxId, Task<UffdPageServer> serving)
    {
        try
        {
            var server = await serving;
            await server.Completion;
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (_servers.ContainsKey(sandboxId))
        {
            LogServerDied(e, sandboxId);
        }
    }

    public async Task ReleaseAsync(MemoryBacking backing, CancellationToken cancellationToken)
    {
        if (backing.Properties.GetValueOrDefault("sandbox") is not { } sandboxId || !_servers.TryRemove(sandboxId, out var entry))
            return;
        entry.Stop.Cancel();
        try
        {
            (await entry.Server).Dispose();
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidDataException)
        {
        }
        if (backing.Path is { } socket)
            File.Delete(socket);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (sandboxId, _) in _servers)
            await ReleaseAsync(new MemoryBacking(MemoryBackingKind.Uffd, null, false, new Dictionary<string, string> { ["sandbox"] = sandboxId }), CancellationToken.None);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Snapshot in {Folder} reached {Bound} diff generations; collapsed into one full memory file")]
    private partial void LogCollapsed(string folder, int bound);

    [LoggerMessage(Level = LogLevel.Error, Message = "The page server of sandbox {SandboxId} died; its guest can no longer fault pages in. Destroy and recreate the sandbox")]
    private partial void LogServerDied(Exception exception, string sandboxId);
}
