using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Plugins;

namespace Wrenn.Silo.Plugins.Calls;

/// <summary>
/// Times one plugin's calls and logs each with the plugin's name: at Debug normally, at Warning when
/// it is slow or fails, so an operator sees which plugin holds things up. Watches (calls that run
/// until cancelled, such as keeping a clock in step) are never slow; their end by cancellation is normal.
/// </summary>
internal sealed partial class PluginCallLog(ILogger logger, PluginKind kind, string plugin, TimeSpan slowAfter)
{
    /// <summary>The logger category of every plugin call.</summary>
    public const string Category = "Wrenn.Plugins.Calls";

    public string Plugin => plugin;

    public async Task<T> TimeAsync<T>(string operation, string subject, Func<Task<T>> call, CancellationToken cancellationToken, bool watch = false)
    {
        var elapsed = Stopwatch.StartNew();
        try
        {
            var result = await call();
            Completed(operation, subject, elapsed.Elapsed, watch);
            return result;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogCancelled(kind, plugin, operation, subject, elapsed.Elapsed.TotalMilliseconds);
            throw;
        }
        catch (Exception e)
        {
            LogFailed(e, kind, plugin, operation, subject, elapsed.Elapsed.TotalMilliseconds, e.Message);
            throw;
        }
    }

    public Task TimeAsync(string operation, string subject, Func<Task> call, CancellationToken cancellationToken, bool watch = false) =>
        TimeAsync<bool>(operation, subject, async () =>
        {
            await call();
            return true;
        }, cancellationToken, watch);

    public T Time<T>(string operation, string subject, Func<T> call)
    {
        var elapsed = Stopwatch.StartNew();
        try
        {
            var result = call();
            Completed(operation, subject, elapsed.Elapsed, watch: false);
            return result;
        }
        catch (Exception e)
        {
            LogFailed(e, kind, plugin, operation, subject, elapsed.Elapsed.TotalMilliseconds, e.Message);
            throw;
        }
    }

    private void Completed(string operation, string subject, TimeSpan elapsed, bool watch)
    {
        if (!watch && elapsed >= slowAfter)
            LogSlow(kind, plugin, operation, subject, elapsed.TotalMilliseconds, slowAfter.TotalMilliseconds);
        else
            LogCall(kind, plugin, operation, subject, elapsed.TotalMilliseconds);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "{Kind} plugin {Plugin}: {Operation} for {Subject} took {Milliseconds:0.0} ms")]
    private partial void LogCall(PluginKind kind, string plugin, string operation, string subject, double milliseconds);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "{Kind} plugin {Plugin} is slow: {Operation} for {Subject} took {Milliseconds:0} ms (slow after {SlowAfterMs:0} ms)")]
    private partial void LogSlow(PluginKind kind, string plugin, string operation, string subject, double milliseconds, double slowAfterMs);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "{Kind} plugin {Plugin} failed: {Operation} for {Subject} after {Milliseconds:0} ms: {Reason}")]
    private partial void LogFailed(Exception exception, PluginKind kind, string plugin, string operation, string subject, double milliseconds, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "{Kind} plugin {Plugin}: {Operation} for {Subject} cancelled after {Milliseconds:0} ms")]
    private partial void LogCancelled(PluginKind kind, string plugin, string operation, string subject, double milliseconds);
}
