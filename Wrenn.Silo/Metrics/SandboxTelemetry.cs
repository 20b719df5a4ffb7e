using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Wrenn.Grains.Sandboxes;
using Wrenn.Guest.Protocol;
using Wrenn.Silo.Sandboxes;

namespace Wrenn.Silo.Metrics;

/// <summary>
/// What sandbox grains on this silo share for metrics: the options, the instruments, the observer
/// of their agent calls, how a running sandbox is read, and the latest sample of each running one
/// (the host's live use adds them up).
/// </summary>
public sealed class SandboxTelemetry(IOptions<MetricsOptions> options, WrennMeters meters)
{
    private readonly ConcurrentDictionary<string, SandboxMetrics> _latest = new();

    public MetricsOptions Options => options.Value;

    public WrennMeters Meters => meters;

    public AgentCallObserver AgentCalls { get; } = new(meters);

    /// <summary>Reads the guest (one agent call) and its VMM process (the host's /proc) now.</summary>
    public async Task<SandboxReading> ReadAsync(AgentClient agent, SandboxVm vm, CancellationToken cancellationToken)
    {
        var guest = await agent.SampleAsync(cancellationToken, options.Value.AgentTimeout);
        return new SandboxReading(guest, ProcessStats.Read(vm.Vm.Pid), Environment.TickCount64, DateTimeOffset.UtcNow);
    }

    public void Report(string sandboxId, SandboxMetrics sample) => _latest[sandboxId] = sample;

    public void Forget(string sandboxId) => _latest.TryRemove(sandboxId, out _);

    /// <summary>The latest samples of this silo's running sandboxes.</summary>
    public IReadOnlyCollection<SandboxMetrics> Running => (IReadOnlyCollection<SandboxMetrics>)_latest.Values;
}
