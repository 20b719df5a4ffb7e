using System.Diagnostics.Metrics;

namespace Wrenn.Silo.Metrics;

/// <summary>
/// The silo's own instruments (System.Diagnostics.Metrics, meter <see cref="Name"/>), exported at
/// <c>/metrics</c> as <c>wrenn_…</c> series. No instrument carries a sandbox id: a series per
/// sandbox would grow without bound; per-sandbox numbers are in GraphQL.
/// </summary>
public sealed class WrennMeters
{
    public const string Name = "Wrenn";

    /// <summary>Seconds; a create under TCG takes a few, a pause well under one.</summary>
    private static readonly double[] OperationBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    private readonly Counter<long> _operations;
    private readonly Histogram<double> _operationSeconds;
    private readonly Counter<long> _execs;
    private readonly Counter<long> _agentErrors;

    public WrennMeters(IMeterFactory factory)
    {
        Meter = factory.Create(Name);
        _operations = Meter.CreateCounter<long>("wrenn.sandbox.operations", "{operation}", "Sandbox lifecycle operations (create, pause, resume, destroy, template) by outcome.");
        _operationSeconds = Meter.CreateHistogram("wrenn.sandbox.operation.duration", "s", "How long sandbox lifecycle operations took, by operation and outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = OperationBuckets });
        _execs = Meter.CreateCounter<long>("wrenn.sandbox.execs", "{exec}", "Commands started in sandboxes (exec, execStream and started processes).");
        _agentErrors = Meter.CreateCounter<long>("wrenn.agent.errors", "{error}", "Calls to guest agents that failed, by gRPC method and status code (cancellations by the caller not counted).");
    }

    public Meter Meter { get; }

    public void Operation(string operation, string outcome, TimeSpan took)
    {
        var tags = new System.Diagnostics.TagList { { "operation", operation }, { "outcome", outcome } };
        _operations.Add(1, tags);
        _operationSeconds.Record(took.TotalSeconds, tags);
    }

    public void Exec() => _execs.Add(1);

    public void AgentError(string method, string code) => _agentErrors.Add(1, new System.Diagnostics.TagList { { "method", method }, { "code", code } });
}
