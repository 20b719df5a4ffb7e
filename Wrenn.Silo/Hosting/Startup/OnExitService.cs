using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Cluster;
using Wrenn.Silo.Data;

namespace Wrenn.Silo.Hosting.Startup;

/// <summary>What happens to this host's sandboxes when the silo stops; settable while it runs (tests restart a silo keeping its VMs).</summary>
public sealed class ExitPolicy(OnExit onExit)
{
    public OnExit OnExit { get; set; } = onExit;
}

/// <summary>
/// Stops just before the silo leaves the cluster, so the grains still answer: with
/// <see cref="OnExit.Pause"/> every running sandbox here is paused to disk (a few at a time: each
/// writes its dirty memory), with <see cref="OnExit.Destroy"/> every sandbox here is destroyed;
/// with <see cref="OnExit.Keep"/> the VMs run on for the next start to re-adopt.
/// </summary>
public sealed partial class OnExitService(ExitPolicy policy, SandboxStore store, IGrainFactory grains, ClusterHosts hosts, ILogger<OnExitService> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        switch (policy.OnExit)
        {
            case OnExit.Pause:
                var running = await store.OnHostAsync(hosts.Local, [SandboxState.Running], CancellationToken.None);
                LogPausing(running.Count);
                await Parallel.ForEachAsync(running, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (r, _) =>
                {
                    try
                    {
                        await grains.GetGrain<ISandboxGrain>(r.Id).PauseAsync(Caller.System);
                    }
                    catch (Exception e)
                    {
                        LogPauseFailed(e, r.Id);
                    }
                });
                break;
            case OnExit.Destroy:
                var here = await store.OnHostAsync(hosts.Local, [SandboxState.Creating, SandboxState.Running, SandboxState.Paused], CancellationToken.None);
                LogDestroying(here.Count);
                await Task.WhenAll(here.Select(async r =>
                {
                    try
                    {
                        await grains.GetGrain<ISandboxGrain>(r.Id).DestroyAsync(Caller.System);
                    }
                    catch (Exception e)
                    {
                        LogDestroyFailed(e, r.Id);
                    }
                }));
                break;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pausing {Count} running sandbox(es) on exit (--on-exit pause); resume them through the API after the next start")]
    private partial void LogPausing(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not pause sandbox {SandboxId} on exit; it keeps running and is re-adopted on the next start")]
    private partial void LogPauseFailed(Exception exception, string sandboxId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Destroying {Count} sandbox(es) on exit (--on-exit destroy)")]
    private partial void LogDestroying(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not destroy sandbox {SandboxId} on exit; the next start's reconciler removes what is left")]
    private partial void LogDestroyFailed(Exception exception, string sandboxId);
}
