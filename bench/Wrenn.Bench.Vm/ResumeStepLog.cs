using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

/// <summary>
/// The silo's own split of each resume, read from its log line
/// "Sandbox {SandboxId} resumed (prepare X ms, restore Y ms, agent Z ms, clock and rng W ms)"
/// (SandboxVms.Resume.cs), so the bench needs no change to the silo.
/// </summary>
internal sealed partial class ResumeStepLog : ILoggerProvider, ILogger
{
    private readonly ConcurrentDictionary<string, Dictionary<string, double>> _last = new();

    /// <summary>The steps of the last resume of <paramref name="sandboxId"/> the silo logged, in milliseconds, in their order.</summary>
    public Dictionary<string, double>? LastFor(string sandboxId) => _last.GetValueOrDefault(sandboxId);

    public ILogger CreateLogger(string categoryName) => this;

    public void Dispose() { }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (Resumed().Match(formatter(state, exception)) is not { Success: true } line)
            return;
        var steps = new Dictionary<string, double>();
        foreach (Match step in Step().Matches(line.Groups["steps"].Value))
            steps[step.Groups["name"].Value] = double.Parse(step.Groups["ms"].Value, CultureInfo.InvariantCulture);
        _last[line.Groups["id"].Value] = steps;
    }

    [GeneratedRegex(@"Sandbox (?<id>\S+) resumed \((?<steps>.*)\)")]
    private static partial Regex Resumed();

    [GeneratedRegex(@"(?<name>[a-z][a-z ]*?) (?<ms>[0-9]+) ms")]
    private static partial Regex Step();
}
