using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Wrenn.Silo.Tests.Api;

/// <summary>The errors the API's web app logged (with their exceptions), to quote when a test fails.</summary>
public sealed class ErrorLog : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _entries = new();

    public IReadOnlyList<string> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(ErrorLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
                return;
            var entry = $"{category}: {formatter(state, exception)}\n{exception}";
            log._entries.Enqueue(entry);
            // Errors a test only sees by their id (INTERNAL) can be read in full from this file.
            if (Environment.GetEnvironmentVariable("WRENN_TEST_ERROR_LOG") is { Length: > 0 } file)
                lock (log._entries)
                    File.AppendAllText(file, $"{DateTime.UtcNow:O} {entry}\n");
        }
    }
}
