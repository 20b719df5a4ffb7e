using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Wrenn.Silo.Reconciliation;

/// <summary>How often the reconciler runs after the first run at start (configuration <c>Wrenn:Reconciler</c>).</summary>
public sealed class ReconcilerOptions
{
    public const string Section = "Wrenn:Reconciler";

    public TimeSpan Every { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// Runs the reconciler once as the silo starts (the start waits for it: sandboxes this host runs
/// are re-adopted before the API serves) and then every <see cref="ReconcilerOptions.Every"/>.
/// </summary>
public sealed partial class ReconcilerService(Reconciler reconciler, IOptions<ReconcilerOptions> options, ILogger<ReconcilerService> logger) : IHostedService
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _periodic;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var report = await reconciler.RunOnceAsync(cancellationToken, atStart: true);
        LogStarted(report.Adopted, report.Lost, report.OrphansRemoved.Count);
        _periodic = reconciler.RunPeriodicallyAsync(options.Value.Every, _stop.Token);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        if (_periodic is not null)
            await _periodic;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Host reconciled at start: {Adopted} running sandbox(es) re-adopted, {Lost} lost, {Orphans} orphan(s) removed")]
    private partial void LogStarted(int adopted, int lost, int orphans);
}
