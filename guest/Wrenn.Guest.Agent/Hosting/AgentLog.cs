namespace Wrenn.Guest.Agent;

/// <summary>The agent's log lines (its stderr is the guest console, slow under emulation: keep them few).</summary>
internal static partial class AgentLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "pid {Pid}: started {Command} as {User}")]
    public static partial void Started(ILogger logger, int pid, string command, string user);

    [LoggerMessage(Level = LogLevel.Debug, Message = "pid {Pid}: exited with code {ExitCode}, signal {Signal}")]
    public static partial void Exited(ILogger logger, int pid, int exitCode, int signal);

    [LoggerMessage(Level = LogLevel.Information, Message = "pid {Pid}: its caller went away, killing the group of {Command}")]
    public static partial void KilledOnCancel(ILogger logger, int pid, string command);

    [LoggerMessage(Level = LogLevel.Warning, Message = "pid {Pid}: reading its output failed")]
    public static partial void PumpFailed(ILogger logger, Exception exception, int pid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "watch of {Path}: ended with an error")]
    public static partial void WatchFailed(ILogger logger, Exception exception, string path);
}
