using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Vmm;
using Wrenn.Plugins.Jail;
using Wrenn.Plugins.Jail.Roots;
using Wrenn.Plugins.Memory.Uffd.PageServer;
using Wrenn.Plugins.Memory.Uffd.Snapshots;

namespace Wrenn.Plugins.Memory.Uffd;

/// <summary>Configuration <c>Wrenn:Plugins:uffd</c>.</summary>
public sealed record UffdOptions
{
    public const string Section = "Wrenn:Plugins:uffd";

    /// <summary>Diff generations before the next pause collapses the chain into one full snapshot.</summary>
    public int MaxDiffGenerations { get; init; } = 10;

    public int BlockSize { get; init; } = 4096;

    /// <summary>How long a page server process gets to open its socket.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The jail page servers run in (<c>Wrenn:Plugins:uffd:Jail</c>): their sandbox's, shared with its VMM.</summary>
    public JailOptions Jail { get; init; } = new();

    /// <summary>How each page server serves (<c>Wrenn:Plugins:uffd:PageServer</c>): fault threads, runs, read-ahead, the prefetch trace.</summary>
    public PageServerOptions PageServer { get; init; } = new();

    /// <summary>How long a pause waits for the page server to write its prefetch trace before the snapshot goes without a new one.</summary>
    public TimeSpan TraceTimeout { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>Checks <see cref="UffdOptions"/> at start: a bad setting stops the silo with its name.</summary>
public sealed class UffdOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<UffdOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, UffdOptions options)
    {
        var problems = new List<string>(options.PageServer.Problems($"{UffdOptions.Section}:PageServer"));
        if (options.BlockSize < 512 || (options.BlockSize & (options.BlockSize - 1)) != 0)
            problems.Add($"{UffdOptions.Section}:BlockSize must be a power of two of at least 512, got {options.BlockSize}.");
        if (options.MaxDiffGenerations < 0)
            problems.Add($"{UffdOptions.Section}:MaxDiffGenerations must not be negative, got {options.MaxDiffGenerations}.");
        if (options.TraceTimeout < TimeSpan.Zero)
            problems.Add($"{UffdOptions.Section}:TraceTimeout must not be negative, got {options.TraceTimeout}.");
        return problems.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(problems);
    }
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
    /// <summary>Beside the header: the order the last restore's pages were served in, replayed by the next restore.</summary>
    public const string TraceFile = "memory.trace";
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

    public async Task<SnapshotFiles> CompleteSnapshotAsync(MemoryBacking backing, SnapshotFiles written, CancellationToken cancellationToken)
    {
        var folder = written.Directory;
        await KeepTraceAsync(backing, folder, cancellationToken);
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
        return written with
        {
            MemoryFiles = [.. header.Generations.Select(g => Path.Combine(folder, g))],
            Properties = new Dictionary<string, string>(written.Properties) { ["header"] = headerPath },
        };
    }

    /// <summary>
    /// Asks a restored VM's page server for the order it served pages in (SIGUSR1; it writes the
    /// trace into the VM's work folder, the only place its jail may write) and keeps it beside the
    /// snapshot for the next restore. Only a hint: without one, the next restore prefetches nothing.
    /// </summary>
    private async Task KeepTraceAsync(MemoryBacking backing, string folder, CancellationToken cancellationToken)
    {
        if (backing.Kind != MemoryBackingKind.Uffd || backing.Properties.GetValueOrDefault("traceOut") is not { } traceOut)
            return;
        if (int.TryParse(backing.Properties.GetValueOrDefault("serverPid"), out var pid) && Directory.Exists($"/proc/{pid}"))
        {
            File.Delete(traceOut);
            if (Native.kill(pid, ServerProgram.WriteTraceSignal) == 0)
            {
                var deadline = DateTime.UtcNow + options.Value.TraceTimeout;
                while (!File.Exists(traceOut) && DateTime.UtcNow < deadline && Directory.Exists($"/proc/{pid}"))
                    await Task.Delay(10, cancellationToken);
            }
        }
        if (!File.Exists(traceOut))
        {
            LogNoTrace(folder, traceOut);
            return;
        }
        var kept = Path.Combine(folder, TraceFile);
        File.Copy(traceOut, kept + ".tmp", overwrite: true);
        File.SetUnixFileMode(kept + ".tmp", (UnixFileMode)0b110_100_100); // the next jailed page server reads it under its own uid
        File.Move(kept + ".tmp", kept, overwrite: true);
        LogTraceKept(kept);
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
            var traceOut = Path.Combine(workDir, "uffd.trace");
            File.Delete(traceOut);
            var traceIn = Path.Combine(folder, TraceFile);
            string[] arguments = [server, "serve", socket, headerPath, .. options.Value.PageServer.ToArguments(), "--trace-out", traceOut,
                .. options.Value.PageServer.PrefetchTrace && File.Exists(traceIn) ? ["--trace-in", traceIn] : Array.Empty<string>()];
            var started = await Jails.StartAsync(jail, new JailedProgram(dotnet, arguments, root, log,
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
                ["sandbox"] = sandboxId, ["header"] = headerPath, ["serverPid"] = started.Pid.ToString(), ["log"] = log, ["traceOut"] = traceOut,
            });
        }
        catch
        {
            await Jails.ReleaseAsync(jail, CancellationToken.None);
            throw;
        }
    }

    /// <summary>The dotnet host running this process, and the runtime folders it needs (its host resolver and the shared frameworks).</summary>
    private static (string Dotnet, IEnumerable<string> Runtime) DotnetRuntime()
    {
        var framework = System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory().TrimEnd('/');
        var dotnetRoot = Path.GetFullPath(Path.Combine(framework, "..", "..", ".."));
        var dotnet = Path.Combine(dotnetRoot, "dotnet");
        if (!File.Exists(dotnet))
            throw new IOException($"No dotnet host beside the runtime in {framework} (looked for {dotnet}); the page server runs on it.");
        // The ASP.NET Core shared framework too: the page server's runtimeconfig names it (its logging comes from there).
        var aspNetCore = Path.Combine(dotnetRoot, "shared", "Microsoft.AspNetCore.App");
        return (dotnet, Directory.Exists(aspNetCore) ? [Path.Combine(dotnetRoot, "host"), framework, aspNetCore] : [Path.Combine(dotnetRoot, "host"), framework]);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Kept the restore's prefetch trace as {Path}")]
    private partial void LogTraceKept(string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The page server wrote no prefetch trace to {TraceOut}; the snapshot in {Folder} keeps its previous one, if any")]
    private partial void LogNoTrace(string folder, string traceOut);

    [LoggerMessage(Level = LogLevel.Error, Message = "A page server (pid {Pid}) ended while its VM needed it; the sandbox fails. Its log: {Log}")]
    private partial void LogServerDied(int pid, string log);
}
