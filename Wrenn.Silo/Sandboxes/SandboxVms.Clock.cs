namespace Wrenn.Silo.Sandboxes;

public sealed partial class SandboxVms
{
    /// <summary>
    /// Keeps a running guest's clock in step (the clock plugin's <c>KeepInSyncAsync</c>) until the
    /// returned handle is disposed. Whoever owns the running VM holds it: the sandbox grain, from
    /// create or resume until pause or destroy.
    /// </summary>
    public IAsyncDisposable KeepClock(SandboxVm sandbox)
    {
        if (clock is null)
            return new ClockKeeper(null, Task.CompletedTask, null);
        var stop = new CancellationTokenSource();
        var agent = sandbox.Agent();
        var loop = Task.Run(async () =>
        {
            try
            {
                await clock.KeepInSyncAsync(new AgentGuestControl(sandbox.SandboxId, agent), stop.Token);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Stopped by its owner.
            }
        });
        return new ClockKeeper(stop, loop, agent);
    }

    private sealed class ClockKeeper(CancellationTokenSource? stop, Task loop, IDisposable? agent) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            stop?.Cancel();
            try
            {
                await loop;
            }
            catch (Exception)
            {
                // A guest that went away while being set: nothing left to keep.
            }
            stop?.Dispose();
            agent?.Dispose();
        }
    }
}
