using Wrenn.Grains.Sandboxes;

namespace Wrenn.Silo.Metrics;

/// <summary>
/// A sandbox's samples for the last <c>HistoryKept</c>, oldest first, in its grain's memory: a
/// sample is ~100 bytes, so an hour at one every 5 s is ~70 KB a sandbox. Not persisted: after a
/// silo restart the history starts again (see docs/ARCHITECTURE.md, "Metrics").
/// </summary>
public sealed class MetricsHistory(TimeSpan kept)
{
    private readonly Queue<SandboxMetrics> _samples = new();

    public void Add(SandboxMetrics sample)
    {
        _samples.Enqueue(sample);
        while (_samples.TryPeek(out var oldest) && oldest.SampledAt < sample.SampledAt - kept)
            _samples.Dequeue();
    }

    /// <summary>The samples taken in the last <paramref name="window"/>.</summary>
    public IReadOnlyList<SandboxMetrics> Last(TimeSpan window, DateTimeOffset now) => _samples.Where(s => s.SampledAt >= now - window).ToList();

    public void Clear() => _samples.Clear();
}
