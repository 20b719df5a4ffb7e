/// <summary>
/// One labelled run of the restore bench, raw (bench/results/restore-LABEL.json): the plot draws every
/// labelled run it finds side by side, so a run "before" a change and one "after" compare in one picture.
/// </summary>
/// <param name="BareQmp">Bare QEMU: exec → QMP answering (ms).</param>
/// <param name="BareLoaded">Bare QEMU: exec → state loaded and <c>cont</c> answered, what the silo's "restore" step covers (ms).</param>
/// <param name="BareTcp">Bare QEMU on the warm base's files: exec → the agent's port accepting, per round (ms).</param>
/// <param name="BareHealth">The same restores: exec → the agent's first gRPC Health answer (ms).</param>
/// <param name="CreateReturned">createSandbox from the warm base, until the mutation answered (ms).</param>
/// <param name="CreateToExec">createSandbox, then the first exec `true` answered (ms).</param>
/// <param name="ResumeReturned">resumeSandbox of a paused sandbox, until the mutation answered (ms).</param>
/// <param name="ResumeToExec">resumeSandbox, then the first exec `true` answered (ms).</param>
/// <param name="ResumeSteps">Per resume, the silo's own steps from its log (prepare, restore, agent, clock and rng; ms).</param>
internal sealed record RestoreRun(
    string Label,
    DateTime Date,
    string Machine,
    string Accelerator,
    List<double> BareQmp,
    List<double> BareLoaded,
    List<double> BareTcp,
    List<double> BareHealth,
    List<double> CreateReturned,
    List<double> CreateToExec,
    List<double> ResumeReturned,
    List<double> ResumeToExec,
    List<Dictionary<string, double>> ResumeSteps)
{
    /// <summary>The silo's resume steps in the order it logs them.</summary>
    public static readonly string[] Steps = ["prepare", "restore", "agent", "clock and rng"];

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted.Count == 0 ? double.NaN
            : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2]
            : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>The median of one resume step over the rounds.</summary>
    public double StepMedian(string step) => Median(ResumeSteps.Where(s => s.ContainsKey(step)).Select(s => s[step]));

    /// <summary>resumeSandbox answered → the first exec answered (median over the rounds).</summary>
    public double FirstExec => Median(ResumeToExec.Zip(ResumeReturned, (total, resumed) => total - resumed));

    /// <summary>
    /// The rest of the resume → first exec median: GraphQL, the grain and the store around the silo's
    /// steps (so the stacked steps, this and <see cref="FirstExec"/> add up to that median).
    /// </summary>
    public double AroundSteps => Median(ResumeToExec) - Steps.Sum(StepMedian) - FirstExec;
}
