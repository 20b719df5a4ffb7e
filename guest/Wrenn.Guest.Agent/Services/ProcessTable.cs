using System.Collections.Concurrent;
using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Wrenn.Guest.Protocol.Connect;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Services;

/// <summary>
/// The processes this agent started. Each runs in its own session and process group (posix_spawn
/// with POSIX_SPAWN_SETSID, so the pid is also the group id), so that a signal or a kill on cancel
/// reaches everything the command started; the agent reaps them itself (<see cref="SpawnedProcess"/>).
/// </summary>
internal sealed partial class ProcessTable(ILogger<ProcessTable> logger)
{
    public const string StandardPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private const int ReadBufferBytes = 32 * 1024;
    private const int SigKill = 9;
    private const int EPerm = 1;
    private const int ENoent = 2;
    private const int EAcces = 13;

    private readonly ConcurrentDictionary<int, RunningProcess> _running = new();

    public sealed record RunningProcess(SpawnedProcess Process, StartRequest Request, ChannelReader<ProcessEvent> Events)
    {
        /// <summary>Serialises writes to the standard input.</summary>
        public SemaphoreSlim InputLock { get; } = new(1, 1);
    }

    public RunningProcess Start(StartRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Command))
            throw new ConnectException(ConnectCode.InvalidArgument, "The command is empty: give a program name found on PATH, or an absolute path.");
        var path = request.Env.TryGetValue("PATH", out var p) ? p : StandardPath;
        var program = Resolve(request.Command, path)
            ?? throw new ConnectException(ConnectCode.NotFound, $"Command '{request.Command}' was not found on PATH ({path}). Commands run without a shell: use an absolute path, or run e.g. 'sh' with args ['-c', '...'].");
        var user = string.IsNullOrEmpty(request.User) ? "root" : request.User;
        var home = HomeOf(user)
            ?? throw new ConnectException(ConnectCode.InvalidArgument, $"User '{user}' does not exist in the guest's /etc/passwd: create it first, or run as root.");
        var cwd = string.IsNullOrEmpty(request.Cwd) ? (Directory.Exists(home) ? home : "/") : request.Cwd;
        if (!cwd.StartsWith('/'))
            throw new ConnectException(ConnectCode.InvalidArgument, $"The working directory '{cwd}' is not absolute: paths in the guest start with '/'.");
        if (!Directory.Exists(cwd))
            throw new ConnectException(ConnectCode.InvalidArgument, $"The working directory '{cwd}' does not exist.");
        if (request.Args.Any(a => a.Contains('\0')) || request.Command.Contains('\0'))
            throw new ConnectException(ConnectCode.InvalidArgument, "The command or an argument contains a NUL character, which no program can receive.");
        if (request.Env.Keys.Any(k => k.Length == 0 || k.Contains('=') || k.Contains('\0')) || request.Env.Values.Any(v => v.Contains('\0')))
            throw new ConnectException(ConnectCode.InvalidArgument, "An environment variable's name is empty or holds '=' or NUL, or its value holds NUL.");

        var argv = new List<string>();
        if (user != "root")
        {
            // runuser (util-linux) switches uid, gids and supplementary groups, then runs the command.
            argv.AddRange(["-u", user, "--", program]);
            program = Resolve("runuser", StandardPath)
                ?? throw new ConnectException(ConnectCode.FailedPrecondition, "runuser (util-linux) is missing in the guest: it is needed to run commands as another user.");
        }
        argv.AddRange(request.Args);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry variable in Environment.GetEnvironmentVariables())
            environment[(string)variable.Key] = (string?)variable.Value ?? "";
        environment["PATH"] = path;
        environment["HOME"] = home;
        environment["USER"] = user;
        environment.TryAdd("LANG", "C.UTF-8");
        foreach (var (key, value) in request.Env)
            environment[key] = value;

        SpawnedProcess process;
        try
        {
            process = SpawnedProcess.Start(program, argv, environment, cwd);
        }
        catch (SpawnException e)
        {
            throw new ConnectException(e.Errno switch
            {
                EAcces or EPerm => ConnectCode.PermissionDenied,
                ENoent => ConnectCode.NotFound,
                _ => ConnectCode.FailedPrecondition,
            }, $"Could not start '{request.Command}': {e.Message}");
        }
        if (!request.Stdin)
            process.StandardInput.Dispose();

        // Bounded: a caller that reads slowly slows the pumps, and the pipes then slow the process.
        var events = Channel.CreateBounded<ProcessEvent>(new BoundedChannelOptions(64) { SingleReader = true });
        var running = new RunningProcess(process, request, events.Reader);
        _running[process.Id] = running;
        LogStarted(process.Id, request.Command, user);
        _ = PumpAsync(running, events.Writer);
        return running;
    }

    public RunningProcess Find(int pid) =>
        _running.TryGetValue(pid, out var running)
            ? running
            : throw new ConnectException(ConnectCode.NotFound, $"No running process with pid {pid} was started by this agent.");

    public IEnumerable<RunningProcess> All => _running.Values;

    /// <summary>Signals the process's whole group.</summary>
    public void Signal(int pid, int signal)
    {
        Find(pid);
        if (signal is <= 0 or > 64)
            throw new ConnectException(ConnectCode.InvalidArgument, $"Signal {signal} is not a valid signal number (1–64).");
        if (Native.kill(-pid, signal) != 0)
            throw new ConnectException(ConnectCode.NotFound, $"Process group {pid} is gone.");
    }

    /// <summary>Kills the group if it still runs: the caller went away, nobody will read its output.</summary>
    public void KillIfRunning(RunningProcess running)
    {
        if (_running.ContainsKey(running.Process.Id))
        {
            LogKilledOnCancel(running.Process.Id, running.Request.Command);
            Native.kill(-running.Process.Id, SigKill);
        }
    }

    /// <summary>Kills every group this agent started: the agent is stopping and nobody will read them.</summary>
    public void KillAll()
    {
        foreach (var running in _running.Values)
            Native.kill(-running.Process.Id, SigKill);
    }

    private async Task PumpAsync(RunningProcess running, ChannelWriter<ProcessEvent> events)
    {
        var process = running.Process;
        try
        {
            await Task.WhenAll(
                PumpStreamAsync(process.StandardOutput, events, stdout: true),
                PumpStreamAsync(process.StandardError, events, stdout: false));
            var (code, signal) = await process.Exited;
            LogExited(process.Id, code, signal);
            await events.WriteAsync(new ProcessEvent { Exited = new Exited { ExitCode = code, Signal = signal } });
        }
        catch (Exception e)
        {
            LogPumpFailed(e, process.Id);
            events.TryComplete(e);
            return;
        }
        finally
        {
            _running.TryRemove(process.Id, out _);
            process.StandardInput.Dispose();
            process.StandardOutput.Dispose();
            process.StandardError.Dispose();
        }
        events.TryComplete();
    }

    private static async Task PumpStreamAsync(Stream stream, ChannelWriter<ProcessEvent> events, bool stdout)
    {
        var buffer = new byte[ReadBufferBytes];
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
        {
            var output = new Output { Data = ByteString.CopyFrom(buffer, 0, n) };
            await events.WriteAsync(stdout ? new ProcessEvent { Stdout = output } : new ProcessEvent { Stderr = output });
        }
    }

    private static string? Resolve(string command, string path)
    {
        if (command.Contains('/'))
            return File.Exists(command) ? command : null;
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, command);
            if (File.Exists(candidate) && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
                return candidate;
        }
        return null;
    }

    /// <summary>The user's home from /etc/passwd, or null when there is no such user.</summary>
    private static string? HomeOf(string user)
    {
        if (user.Contains(':') || user.Contains('\n'))
            return null;
        if (!File.Exists("/etc/passwd"))
            return user == "root" ? "/root" : null;
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            // name:password:uid:gid:gecos:home:shell
            var fields = line.Split(':');
            if (fields.Length >= 7 && fields[0] == user)
                return fields[5].Length > 0 ? fields[5] : "/";
        }
        return user == "root" ? "/root" : null;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "pid {Pid}: started {Command} as {User}")]
    private partial void LogStarted(int pid, string command, string user);

    [LoggerMessage(Level = LogLevel.Debug, Message = "pid {Pid}: exited with code {ExitCode}, signal {Signal}")]
    private partial void LogExited(int pid, int exitCode, int signal);

    [LoggerMessage(Level = LogLevel.Information, Message = "pid {Pid}: its caller went away, killing the group of {Command}")]
    private partial void LogKilledOnCancel(int pid, string command);

    [LoggerMessage(Level = LogLevel.Warning, Message = "pid {Pid}: reading its output failed")]
    private partial void LogPumpFailed(Exception exception, int pid);
}
