namespace Wrenn.Guest.Protocol;

/// <summary>Where the guest agent listens, and what its protocol offers.</summary>
public static class AgentEndpoint
{
    /// <summary>The agent's TCP port inside the guest (gRPC over HTTP/2 cleartext).</summary>
    public const int DefaultPort = 49999;

    /// <summary>
    /// The version of the protocol this build speaks. It only grows, with every addition to the
    /// .proto files; the Connect agent that came before it had none (reads as 0).
    /// </summary>
    public const int ProtocolVersion = 3;

    /// <summary>The response header FilesystemService.Watch sends once the watch is in place (value <c>ready</c>).</summary>
    public const string WatchReadyHeader = "wrenn-watch";

    /// <summary>Feature names an agent lists in its health answer.</summary>
    public static class Capabilities
    {
        /// <summary>StartProcess, List with ended processes, SendInput/StreamInput, SendSignal.</summary>
        public const string ProcessTable = "process-table";

        /// <summary>Attach: output of a running process, the last 1 MiB first.</summary>
        public const string Attach = "attach";

        /// <summary>Pseudo-terminals (StartRequest.pty, ResizeTerminal).</summary>
        public const string Pty = "pty";

        /// <summary>Filesystem Watch (inotify).</summary>
        public const string Watch = "watch";

        /// <summary>Filesystem WriteStream (a client-streamed file).</summary>
        public const string WriteStream = "write-stream";

        /// <summary>System Settle: clock and RNG after a restore in one call.</summary>
        public const string ClockRestore = "clock-restore";

        /// <summary>Network ListListeningPorts: the TCP sockets listening in the guest.</summary>
        public const string ListeningPorts = "listening-ports";

        /// <summary>MetricsService.Sample: the guest's CPU, memory, disk and network counters (protocol 3).</summary>
        public const string Metrics = "metrics";

        /// <summary>Every capability this build has.</summary>
        public static readonly IReadOnlyList<string> All = [ProcessTable, Attach, Pty, Watch, WriteStream, ClockRestore, ListeningPorts, Metrics];
    }
}
