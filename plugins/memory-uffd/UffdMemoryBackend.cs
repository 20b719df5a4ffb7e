using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Vmm;
using Wrenn.Plugins.Jail;
using Wrenn.Plugins.Jail.Roots;
using Wrenn.Plugins.Memory.Uffd.Snapshots;

namespace Wrenn.Plugins.Memory.Uffd;

/// <summary>Configuration <c>Wrenn:Plugins:uffd</c>.</summary>
public sealed record UffdOptions
{
    /// <summary>Diff generations before the next pause collapses the chain into one full snapshot.</summary>
    public int MaxDiffGenerations { get; init; } = 10;

    public int BlockSize { get; init; } = 4096;

    /// <summary>How long a page server process gets to open its socket.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The jail page servers run in (<c>Wrenn:Plugins:uffd:Jail</c>): their sandbox's, shared with its VMM.</summary>
    public JailOptions Jail { get; init; } = new();
}

/// <summary>
/// Firecracker's memory: booted VMs use the VMM's own memory; a snapshot's memory becomes a
/// generation under a snapshot header (a diff adds only its dirty pages; past the bound the chain
/// collapses); a restore is served on demand by a page server, one process per sandbox (detached, so
/// it serves its VM across silo restarts), which the silo watches (IMemoryWatch) to fail the
/// sandbox cleanly if it dies. The page server runs in its sandbox's jail (the uid and cgroup its
/// VMM gets too), seeing only the snapshot it serves, its socket's folder and the .NET runtime.
/// </summary>
public sealed partial class UffdMemoryBackend : IMemoryBackend, IMemoryWatch, IAsyncDisposable
{
    private const string HeaderFile = "memory.header";
    private readonly Microsoft.Extensions.Options.IOptions<UffdOptions> options;
    private readonly ILogger<UffdMemoryBackend> logger;

    public UffdMemoryBackend(Microsoft.Extensions.Options.IOptions<UffdOptions> options, PluginHost host, ILogger<UffdMemoryBackend> logger)
    {
        this.options = options;
        this.logger = logger;
        Jails = new Jails(options.Value.Jail, host, logger, "Wrenn:Plugins:uffd:Jail");
    }

    /// <summary>The jails page servers run in.</summary>
    public Jails Jails { get; }

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

    /// <summary>
    /// Starts the sandbox's page server as a process of its own in the sandbox's jail (detached: it
    /// serves its VM across silo restarts) and hands the VMM its socket.
    /// </summary>
    public async Task<MemoryBacking> PrepareRestoreAsync(string sandboxId, SnapshotFiles snapshot, string workDir, CancellationToken cancellationToken)
    {
        var headerPath = snapshot.Properties.GetValueOrDefault("header") ?? Path.Combine(snapshot.Directory, HeaderFile);
        SnapshotHeader.Read(headerPath); // refuse a bad header now, with its message, not in the child
        var folder = Path.GetDirectoryName(headerPath)!;
        if (Jails.Enabled && !File.GetUnixFileMode(folder).HasFlag(UnixFileMode.OtherRead | UnixFileMode.OtherExecute))
            throw new IOException($"The snapshot folder {folder} is its owner's alone (mode {Convert.ToString((int)File.GetUnixFileMode(folder), 8)}); the jailed page server reads it under a uid of its own: make it 0755.");
        Directory.CreateDirectory(workDir);
        var socket = Path.Combine(workDir, "uffd.sock");
        File.Delete(socket);
        var log = Path.Combine(workDir, "uffd.log");
        var jail = Jails.Acquire(sandboxId);
        try
        {
            var (dotnet, runtime) = DotnetRuntime();
            var server = typeof(UffdMemoryBackend).Assembly.Location;
            var root = new JailRoot()
                .Writable(workDir)
                .ReadOnly(folder)
                .ReadOnly(Path.GetDirectoryName(server)!)
                .ReadOnly(runtime)
                .WithProc() // the .NET runtime reads /proc/self
                .Device("/dev/null")
                .Device("/dev/urandom");
            var started = await Jails.StartAsync(jail, new JailedProgram(dotnet, [server, "serve", socket, headerPath], root, log,
                Environment: new Dictionary<string, string>
                {
                    ["DOTNET_EnableDiagnostics"] = "0", // no diagnostics socket (the jail has no /tmp)
                    ["DOTNET_gcServer"] = "0",
                },
                FileSizeLimit: 64L * 1024 * 1024), cancellationToken);
            var deadline = DateTime.UtcNow + options.Value.StartTimeout;
            while (!File.Exists(socket))
            {
                if (!Directory.Exists($"/proc/{started.Pid}"))
                    throw new IOException($"The page server of {sandboxId} exited at start: {(File.Exists(log) ? File.ReadAllText(log) : "no output")}");
                if (DateTime.UtcNow > deadline)
                    throw new IOException($"The page server of {sandboxId} did not open {socket} within {options.Value.StartTimeout.TotalSeconds:0} s: {(File.Exists(log) ? File.ReadAllText(log) : "no output")}");
                await Task.Delay(50, cancellationToken);
            }
            return new MemoryBacking(MemoryBackingKind.Uffd, socket, false, new Dictionary<string, string>(jail.ToProperties())
            {
                ["sandbox"] = sandboxId, ["header"] = headerPath, ["serverPid"] = started.Pid.ToString(), ["log"] = log,
            });
        }
        catch
        {
            await Jails.ReleaseAsync(jail, CancellationToken.None);
            throw;
        }
    }

    /// <summary>The dotnet host running this process, and the runtime folders it needs (its host resolver and the shared framework).</summary>
    private static (string Dotnet, IEnumerable<string> Runtime) DotnetRuntime()
    {
        var framework = System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory().TrimEnd('/');
        var dotnetRoot = Path.GetFullPath(Path.Combine(framework, "..", "..", ".."));
        var dotnet = Path.Combine(dotnetRoot, "dotnet");
        if (!File.Exists(dotnet))
            throw new IOException($"No dotnet host beside the runtime in {framework} (looked for {dotnet}); the page server runs on it.");
        return (dotnet, [Path.Combine(dotnetRoot, "host"), framework]);
    }

    /// <summary>Completes when the page server process is gone while it was still needed; its log says why.</summary>
    public async Task<string> WhenFailedAsync(MemoryBacking backing, CancellationToken cancellationToken)
    {
        if (backing.Kind != MemoryBackingKind.Uffd || !int.TryParse(backing.Properties.GetValueOrDefault("serverPid"), out var pid))
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return "";
        }
        while (Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal))
            await Task.Delay(1000, cancellationToken);
        var log = backing.Properties.GetValueOrDefault("log") is { } path && File.Exists(path) ? File.ReadAllText(path).Trim() : "";
        LogServerDied(pid, log);
        return $"its memory page server (pid {pid}) ended{(log.Length > 0 ? $": {log}" : "")}";
    }

    /// <summary>
    /// Stops the page server and frees the sandbox's jail: the silo releases memory only once the
    /// VM is stopped (or never started), and freeing a jail twice is harmless.
    /// </summary>
    public async Task ReleaseAsync(MemoryBacking backing, CancellationToken cancellationToken)
    {
        if (int.TryParse(backing.Properties.GetValueOrDefault("serverPid"), out var pid))
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // Gone already (its VMM went away).
            }
        }
        if (backing.Properties.GetValueOrDefault("sandbox") is { } sandboxId)
            await Jails.ReleaseAsync(SandboxJail.FromProperties(Jails.Owner, sandboxId, backing.Properties), cancellationToken);
        if (backing.Path is { } socket)
            File.Delete(socket);
    }

    /// <summary>Page servers are processes of their own and outlive the silo with their VMs; nothing to stop here.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Snapshot in {Folder} reached {Bound} diff generations; collapsed into one full memory file")]
    private partial void LogCollapsed(string folder, int bound);

    [LoggerMessage(Level = LogLevel.Error, Message = "A page server (pid {Pid}) ended while its VM needed it; the sandbox fails. Its log: {Log}")]
    private partial void LogServerDied(int pid, string log);
}
