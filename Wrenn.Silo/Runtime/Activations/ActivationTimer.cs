namespace Wrenn.Silo.Runtime.Activations;

/// <summary>A per-activation timer whose ticks run as exclusive turns; it dies with the activation.</summary>
internal sealed class ActivationTimer(Activation owner, Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period, CancellationToken lifetime) : IDisposable
{
    private readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(lifetime);

    public void Start() => _ = RunAsync();

    private async Task RunAsync()
    {
        try
        {
            await Task.Delay(dueTime, _stop.Token);
            while (!_stop.IsCancellationRequested)
            {
                await owner.RunTimerTurnAsync(callback, _stop.Token);
                if (period == Timeout.InfiniteTimeSpan)
                    return;
                await Task.Delay(period, _stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose() => _stop.Cancel();
}
