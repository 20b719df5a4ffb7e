using Microsoft.Extensions.Logging;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Tests.Errors;

/// <summary>An unexpected exception is logged once with its stack and an id; the client gets INTERNAL with that id and nothing else of it.</summary>
public sealed class UnexpectedErrorTests
{
    /// <summary>Fault injection: the team look-up fails the way a bug would.</summary>
    private sealed class FailingBackend : UnreachableBackend
    {
        public override Task<TeamInfo> TeamAsync(Caller caller, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("connection string Host=secret-db;Password=hunter2 refused");

        public override Task<TemplateInfo?> TemplateAsync(Caller caller, string nameOrId, CancellationToken cancellationToken) =>
            throw new GrainException(ErrorCodes.PermissionDenied, $"Template {nameOrId} belongs to another team.");
    }

    private sealed class Logs : ILoggerProvider
    {
        public List<(LogLevel Level, string Message, Exception? Exception)> Entries { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(Logs logs) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (logs.Entries)
                    logs.Entries.Add((logLevel, formatter(state, exception), exception));
            }
        }
    }

    [Fact]
    public async Task An_unexpected_exception_reaches_the_client_as_INTERNAL_with_the_id_it_was_logged_under()
    {
        var logs = new Logs();
        using var api = new ApiServices(logs: logs);
        var response = await api.RunAsync("{ me { name } }", new FailingBackend());
        var error = response.GetProperty("errors")[0];
        Assert.True(error.TryGetProperty("extensions", out _), response.ToString());
        Assert.Equal("INTERNAL", error.GetProperty("extensions").GetProperty("code").GetString());
        var id = error.GetProperty("extensions").GetProperty("errorId").GetString()!;
        Assert.Contains(id, error.GetProperty("message").GetString());
        Assert.DoesNotContain("hunter2", response.ToString());
        Assert.DoesNotContain("InvalidOperationException", response.ToString());

        var logged = Assert.Single(logs.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains(id, logged.Message);
        Assert.Contains("me", logged.Message);
        Assert.IsType<InvalidOperationException>(logged.Exception);
        Assert.NotNull(logged.Exception!.StackTrace);
    }

    [Fact]
    public async Task A_grain_error_keeps_its_message_under_the_API_code_and_is_not_logged_as_unexpected()
    {
        var logs = new Logs();
        using var api = new ApiServices(logs: logs);
        var response = await api.RunAsync("{ template(name: \"theirs\") { id } }", new FailingBackend());
        var error = response.GetProperty("errors")[0];
        Assert.True(error.TryGetProperty("extensions", out _), response.ToString());
        Assert.Equal("FORBIDDEN", error.GetProperty("extensions").GetProperty("code").GetString());
        Assert.Equal("Template theirs belongs to another team.", error.GetProperty("message").GetString());
        Assert.Equal("[\"template\"]", error.GetProperty("path").ToString().Replace(" ", ""));
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
    }
}
