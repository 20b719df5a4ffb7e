using ScottPlot;

/// <summary>
/// bench/results/restore.png: resume → first exec by step, one stacked bar per labelled run (the
/// silo's prepare, restore, agent, clock and rng, then what the API and the exec add), each beside
/// the bare QEMU restore of the same run and a dashed line at the goal, 1.5× that baseline.
/// </summary>
internal static class RestorePlot
{
    public static void Write(IReadOnlyList<RestoreRun> runs, string path)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var parts = RestoreRun.Steps.Append("API, grain around the steps").Append("first exec after resumeSandbox").ToArray();
        var bars = new List<Bar>();
        var ticks = new List<(double Position, string Label)>();
        var goals = new List<(double X, double Y)>();
        for (var i = 0; i < runs.Count; i++)
        {
            var run = runs[i];
            var x = i * 3.0;
            var values = RestoreRun.Steps.Select(run.StepMedian).Append(Math.Max(0, run.AroundSteps)).Append(run.FirstExec).ToArray();
            var at = 0.0;
            for (var p = 0; p < values.Length; p++)
            {
                bars.Add(new Bar { Position = x, ValueBase = at, Value = at + values[p], FillColor = palette.GetColor(p), Size = 1.2 });
                at += values[p];
            }
            var bare = RestoreRun.Median(run.BareTcp);
            bars.Add(new Bar { Position = x + 1.3, Value = bare, FillColor = Colors.Gray, Size = 0.9, Label = $"{bare:0}", CenterLabel = false });
            goals.Add((x, bare * 1.5));
            ticks.Add((x, $"{run.Label}: resume → exec {RestoreRun.Median(run.ResumeToExec):0} ms"));
            ticks.Add((x + 1.3, "bare QEMU"));
        }
        plot.Add.Bars(bars);
        foreach (var (x, y) in goals) // over the bars, so the goal shows across the stack
        {
            var goal = plot.Add.Line(x - 0.6, y, x + 0.6, y);
            goal.LinePattern = LinePattern.Dashed;
            goal.LineWidth = 2;
            goal.Color = Colors.Black;
        }
        for (var p = 0; p < parts.Length; p++)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = parts[p], FillColor = palette.GetColor(p) });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "bare QEMU restore → agent port accepts", FillColor = Colors.Gray });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "goal: 1.5× bare", LineColor = Colors.Black, LinePattern = LinePattern.Dashed, LineWidth = 2 });
        plot.ShowLegend(Alignment.UpperRight);
        plot.Axes.Bottom.SetTicks([.. ticks.Select(t => t.Position)], [.. ticks.Select(t => t.Label)]);
        plot.Axes.Margins(bottom: 0);
        plot.Axes.SetLimitsX(-1.2, runs.Count * 3.0 + 1.5);
        plot.YLabel("median, ms");
        plot.Title($"Resume → first exec by step ({runs[^1].Accelerator}, 1 vCPU, 256 MiB)");
        plot.SavePng(path, 300 + 330 * Math.Max(runs.Count, 2), 600);
    }
}
