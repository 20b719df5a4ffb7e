using Microsoft.Extensions.Logging;
using Wrenn.Grains.Runtime;
using Wrenn.Silo.Runtime.Grains;

namespace Wrenn.Silo.Runtime.Timers;

/// <summary>
/// Fires due reminders: every silo polls, claims due rows it can lock, and calls the grain through the
/// normal call path (so the grain activates where it belongs). A failed fire is retried later; a
/// silo dying mid-fire loses only its claim, which expires.
/// </summary>
internal sealed partial class ReminderService(
    ReminderStore store,
    Func<long> incarnation,
    Func<bool> canServe,
    Func<GrainId, IRemindable> grains,
    TimeSpan pollInterval,
    ILogger logger) : IAsyncDisposable
{
    private static readonly TimeSpan RetryIn = TimeSpan.FromSeconds(5);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public void Start() => _loop = Task.Run(LoopAsync);

    private async Task LoopAsync()
    {
        using var ticks = new PeriodicTimer(pollInterval);
        try
        {
            while (await ticks.WaitForNextTickAsync(_stop.Token))
            {
                if (!canServe())
                    continue;
                try
                {
                    var due = await store.ClaimDueAsync(incarnation(), 50, _stop.Token);
                    await Task.WhenAll(due.Select(FireAsync));
                }
                catch (Exception e) when (!_stop.IsCancellationRequested)
                {
                    LogPollFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task FireAsync(DueReminder reminder)
    {
        var owner = incarnation();
        try
        {
            await grains(reminder.Grain).ReceiveReminderAsync(reminder.Name, _stop.Token);
            await store.CompleteAsync(reminder, owner, CancellationToken.None);
        }
        catch (Exception e) when (!_stop.IsCancellationRequested)
        {
            LogFireFailed(logger, e, reminder.Name, reminder.Grain.ToString(), RetryIn.TotalSeconds);
            await store.RetryLaterAsync(reminder, owner, RetryIn, CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_loop is not null)
            await _loop;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read due reminders; trying again on the next poll")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reminder {Name} of grain {Grain} failed; retrying in {Seconds} s")]
    private static partial void LogFireFailed(ILogger logger, Exception exception, string name, string grain, double seconds);
}
