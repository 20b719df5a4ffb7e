using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Wrenn.Plugins.Memory.Uffd.Snapshots;

namespace Wrenn.Plugins.Memory.Uffd.PageServer;

/// <summary>
/// One sandbox's page server as a process of its own, so that a restored VM keeps getting its pages
/// when the silo restarts: <c>dotnet Wrenn.Plugins.Memory.Uffd.dll serve SOCKET HEADER [options]
/// [--trace-in PATH] [--trace-out PATH]</c>. It replays the trace at --trace-in ahead of the guest,
/// and writes the pages it served, in order, to --trace-out on SIGUSR1 (the backend asks at pause)
/// and when it ends. It exits 0 when the VMM goes away, non-zero (with the reason on stderr) when
/// serving failed. Its log (stderr) has one line per event, level first.
/// </summary>
public static class ServerProgram
{
    /// <summary>SIGUSR1: write the trace now.</summary>
    public const int WriteTraceSignal = 10;

    public static async Task<int> Main(string[] args)
    {
        if (args is not ["serve", var socket, var headerPath, .. var rest] || rest.Length % 2 != 0)
        {
            await Console.Error.WriteLineAsync("usage: Wrenn.Plugins.Memory.Uffd serve SOCKET HEADER [--fault-threads N ...] [--trace-in PATH] [--trace-out PATH]");
            return 2;
        }
        var logger = new StderrLogger();
        try
        {
            var options = new PageServerOptions();
            string? traceIn = null, traceOut = null;
            for (var i = 0; i < rest.Length; i += 2)
            {
                switch (rest[i])
                {
                    case "--trace-in": traceIn = rest[i + 1]; break;
                    case "--trace-out": traceOut = rest[i + 1]; break;
                    default: options = PageServerOptions.Parse(rest[i], rest[i + 1], options); break;
                }
            }
            var header = SnapshotHeader.Read(headerPath);
            var replay = traceIn is null ? null : LoadTrace(traceIn, logger);
            // Handled from the start: SIGUSR1's default would end the process, and a pause may ask before the VMM connects.
            UffdPageServer? serving = null;
            using var onSignal = PosixSignalRegistration.Create((PosixSignal)WriteTraceSignal, context =>
            {
                context.Cancel = true;
                if (Volatile.Read(ref serving) is { } running && traceOut is not null)
                    WriteTrace(running, traceOut, logger);
            });
            using var server = await UffdPageServer.AcceptAsync(socket, header, Path.GetDirectoryName(headerPath)!, options.Validated(), replay, logger, CancellationToken.None);
            Volatile.Write(ref serving, server);
            try
            {
                await server.Completion;
            }
            finally
            {
                if (traceOut is not null)
                    WriteTrace(server, traceOut, logger);
            }
            return 0;
        }
        catch (Exception e)
        {
            await Console.Error.WriteLineAsync($"wrenn uffd page server for {socket}: {e.Message}");
            return 1;
        }
    }

    /// <summary>The previous restore's trace, or null (no prefetch) when there is none or it cannot be used.</summary>
    public static PrefetchTrace? LoadTrace(string path, ILogger logger)
    {
        try
        {
            return File.Exists(path) ? PrefetchTrace.Read(path) : null;
        }
        catch (Exception e) when (e is PrefetchTraceException or IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("The prefetch trace {Path} cannot be used, so this restore prefetches nothing: {Reason}", path, e.Message);
            return null;
        }
    }

    private static void WriteTrace(UffdPageServer server, string path, ILogger logger)
    {
        try
        {
            server.WriteTrace(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("The prefetch trace could not be written to {Path}; the next restore prefetches nothing: {Reason}", path, e.Message);
        }
    }

    /// <summary>The page server's log: its stderr, which the backend keeps in the VM's work folder.</summary>
    private sealed class StderrLogger : ILogger
    {
        private readonly Lock _lock = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
                return;
            lock (_lock)
                Console.Error.WriteLine($"{DateTime.UtcNow:O} {logLevel}: {formatter(state, exception)}{(exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message})")}");
        }
    }
}
