using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Wrenn.Silo.Data;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

/// <summary>
/// Issue 22's restore path, in one run: bare QEMU restoring the warm base's own snapshot files to a
/// TCP answer on the agent's port (the floor), next to createSandbox from the warm base → first exec
/// and pauseSandbox → resumeSandbox → first exec through the GraphQL API, with the silo's own split of
/// each resume. Rounds alternate the three so a loaded machine weighs on all alike.
/// Writes bench/results/restore.md, restore-LABEL.json (raw) and restore.png (every labelled run).
/// </summary>
internal static class RestoreBench
{
    private const double Goal = 1.5;

    public static async Task RunAsync(int rounds, string label)
    {
        var steps = new ResumeStepLog();
        var image = GuestImage.FromDirectory(RepoPaths.ImageDir);
        var run = new RestoreRun(label, DateTime.UtcNow, Machine(), File.ReadAllText("/run/wrenn/qemu-accelerator").Trim(), [], [], [], [], [], [], [], [], []);
        await using (var silo = await BenchSilo.StartAsync("bench-restore", steps))
        await using (var bare = BareRestore.Create())
        {
            var warmBase = silo.Host.Services.GetRequiredService<WarmBase>();
            var folder = warmBase.CurrentFolder ?? throw new InvalidOperationException("the bench silo has no warm base");
            var template = JsonSerializer.Deserialize<TemplateSnapshot>(await File.ReadAllTextAsync(Path.Combine(folder, "warm.json")), WrennJson.Options)!;
            using var http = new HttpClient { BaseAddress = silo.Host.ApiAddress };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", silo.Host.FirstAdminKey);
            var api = new GraphQL(http);

            // Round 0 warms the JIT, the page cache and the API; it is not counted.
            for (var i = 0; i <= rounds; i++)
            {
                var (qmpUp, loaded, tcp, health) = await bare.RunAsync(template, image, i);

                var clock = Stopwatch.StartNew();
                var id = (await api.Post("mutation { createSandbox(input: {template: \"base\", timeoutSeconds: 600}) { id } }"))["createSandbox"]!["id"]!.GetValue<string>();
                var created = clock.Elapsed.TotalMilliseconds;
                await api.Exec(id);
                var createToExec = clock.Elapsed.TotalMilliseconds;
                double resumed, resumeToExec;
                try
                {
                    await api.Post($"mutation {{ pauseSandbox(id: \"{id}\") {{ state }} }}");
                    clock.Restart();
                    await api.Post($"mutation {{ resumeSandbox(id: \"{id}\") {{ state }} }}");
                    resumed = clock.Elapsed.TotalMilliseconds;
                    await api.Exec(id);
                    resumeToExec = clock.Elapsed.TotalMilliseconds;
                }
                finally
                {
                    await api.Post($"mutation {{ destroySandbox(id: \"{id}\") }}");
                }
                var split = steps.LastFor(id) ?? throw new InvalidOperationException($"the silo logged no resume steps for {id}");
                Console.Error.WriteLine($"round {i}/{rounds}{(i == 0 ? " (warm-up)" : "")}: bare → TCP {tcp:0} ms, → Health {health:0} ms; create → exec {createToExec:0} ms; resume → exec {resumeToExec:0} ms ({string.Join(", ", split.Select(s => $"{s.Key} {s.Value:0}"))})");
                if (i == 0)
                    continue;
                run.BareQmp.Add(qmpUp);
                run.BareLoaded.Add(loaded);
                run.BareTcp.Add(tcp);
                run.BareHealth.Add(health);
                run.CreateReturned.Add(created);
                run.CreateToExec.Add(createToExec);
                run.ResumeReturned.Add(resumed);
                run.ResumeToExec.Add(resumeToExec);
                run.ResumeSteps.Add(split);
            }
        }

        var results = Path.Combine(RepoPaths.Root, "bench", "results");
        await File.WriteAllTextAsync(Path.Combine(results, $"restore-{label}.json"), JsonSerializer.Serialize(run, new JsonSerializerOptions { WriteIndented = true }));
        var runs = LabelledRuns(results);
        RestorePlot.Write(runs, Path.Combine(results, "restore.png"));
        var table = Table(run, rounds, runs);
        await File.WriteAllTextAsync(Path.Combine(results, "restore.md"), table);
        Console.WriteLine(table);
    }

    /// <summary>Every restore-LABEL.json in the results folder, "before" first and "after" next.</summary>
    private static List<RestoreRun> LabelledRuns(string results) =>
        [.. Directory.GetFiles(results, "restore-*.json")
            .Select(f => JsonSerializer.Deserialize<RestoreRun>(File.ReadAllText(f))!)
            .OrderBy(r => r.Label switch { "before" => 0, "after" => 1, _ => 2 })
            .ThenBy(r => r.Label, StringComparer.Ordinal)];

    private static string Table(RestoreRun run, int rounds, List<RestoreRun> runs)
    {
        static double M(List<double> v) => RestoreRun.Median(v);
        var bare = M(run.BareTcp);
        var text = new StringBuilder()
            .AppendLine("# Restore path: bare QEMU, create from the warm base, resume (issue 22)")
            .AppendLine()
            .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Vm -- restore {rounds} --label {run.Label}`, {run.Date:yyyy-MM-dd HH:mm}Z, {run.Machine}, accelerator {run.Accelerator}, 1 vCPU, 256 MiB (the base's size), median of {rounds} rounds after one warm-up round.")
            .AppendLine("Each round, in this order: the bare baseline, createSandbox → exec, pauseSandbox, resumeSandbox → exec, destroySandbox (GraphQL over HTTP to an in-process silo, jailed VMs).")
            .AppendLine()
            .AppendLine("Bare baseline: `qemu-system-x86_64` on the warm base's own `vmstate` and memory file, with the command line `QemuCommandLine.For` builds (`-incoming defer`, RAM mapped private `share=off`),")
            .AppendLine("unjailed, under `ip netns exec` in a network slot of its own (TAP opened by name where the plugin hands it over as fd 3); over QMP x-ignore-shared, `getfd` + `migrate-incoming fd:`, `cont`;")
            .AppendLine($"timed from exec to the first TCP connection accepted on the agent's port {Wrenn.Guest.Protocol.AgentEndpoint.DefaultPort} at the slot's host address (fresh connects with a 15 ms timeout each).")
            .AppendLine()
            .AppendLine("## Resume → first exec")
            .AppendLine()
            .AppendLine("| measurement | median | min | max | bare QEMU restore → TCP (same run) | ratio | goal |")
            .AppendLine("|---|---|---|---|---|---|---|")
            .AppendLine(Row("pauseSandbox, then resumeSandbox → first exec `true` answered", run.ResumeToExec, bare))
            .AppendLine(Row("resumeSandbox answered", run.ResumeReturned, bare))
            .AppendLine()
            .AppendLine("## Create from the warm base → first exec")
            .AppendLine()
            .AppendLine("| measurement | median | min | max | bare QEMU restore → TCP (same run) | ratio | goal |")
            .AppendLine("|---|---|---|---|---|---|---|")
            .AppendLine(Row("createSandbox (base) → first exec `true` answered", run.CreateToExec, bare))
            .AppendLine(Row("createSandbox answered", run.CreateReturned, bare))
            .AppendLine()
            .AppendLine("## The bare baseline")
            .AppendLine()
            .AppendLine("| measurement | median | min | max |")
            .AppendLine("|---|---|---|---|")
            .AppendLine($"| bare QEMU exec → QMP answers | {M(run.BareQmp):0} ms | {run.BareQmp.Min():0} ms | {run.BareQmp.Max():0} ms |")
            .AppendLine($"| bare QEMU exec → state loaded, `cont` answered (the silo's \"restore\" step covers this) | {M(run.BareLoaded):0} ms | {run.BareLoaded.Min():0} ms | {run.BareLoaded.Max():0} ms |")
            .AppendLine($"| bare QEMU exec → agent port accepts a TCP connection | {bare:0} ms | {run.BareTcp.Min():0} ms | {run.BareTcp.Max():0} ms |")
            .AppendLine($"| bare QEMU exec → the agent's first gRPC Health answer | {M(run.BareHealth):0} ms | {run.BareHealth.Min():0} ms | {run.BareHealth.Max():0} ms |")
            .AppendLine()
            .AppendLine("Both sides' slots come from the netns plugin, which has the namespace retry its ARP for the guest every 50 ms: with the kernel's 1 s default,")
            .AppendLine("an ARP request sent before the restored NIC runs put rounds near 1 s into runs before that change, whatever fresh SYNs did.")
            .AppendLine()
            .AppendLine("## Resume by step (the silo's log line `Sandbox … resumed (prepare …, restore …, agent …, clock and rng …)`)")
            .AppendLine()
            .AppendLine("| step | median | min | max |")
            .AppendLine("|---|---|---|---|");
        foreach (var step in RestoreRun.Steps)
        {
            var values = run.ResumeSteps.Where(s => s.ContainsKey(step)).Select(s => s[step]).ToList();
            text.AppendLine($"| {step} | {run.StepMedian(step):0} ms | {values.DefaultIfEmpty().Min():0} ms | {values.DefaultIfEmpty().Max():0} ms |");
        }
        text.AppendLine($"| API and grain around the steps (resume → exec median less the steps and the first exec) | {run.AroundSteps:0} ms | | |")
            .AppendLine($"| the first exec `true` after resumeSandbox answered | {run.FirstExec:0} ms | {run.ResumeToExec.Zip(run.ResumeReturned, (t, r) => t - r).Min():0} ms | {run.ResumeToExec.Zip(run.ResumeReturned, (t, r) => t - r).Max():0} ms |")
            .AppendLine()
            .AppendLine("## Labelled runs (bench/results/restore-*.json; plotted in restore.png)")
            .AppendLine()
            .AppendLine("| label | date | bare → TCP | resume → exec | ratio | create → exec | ratio | " + string.Join(" | ", RestoreRun.Steps) + " |")
            .AppendLine("|---|---|---|---|---|---|---|" + string.Concat(RestoreRun.Steps.Select(_ => "---|")));
        foreach (var r in runs)
        {
            var b = M(r.BareTcp);
            text.AppendLine($"| {r.Label} | {r.Date:yyyy-MM-dd HH:mm}Z | {b:0} ms | {M(r.ResumeToExec):0} ms | {M(r.ResumeToExec) / b:0.00}× | {M(r.CreateToExec):0} ms | {M(r.CreateToExec) / b:0.00}× | "
                + string.Join(" | ", RestoreRun.Steps.Select(s => $"{r.StepMedian(s):0} ms")) + " |");
        }
        text.AppendLine()
            .AppendLine($"Load average at the end of the run: {File.ReadAllText("/proc/loadavg").Split(' ')[1]} (5 min; other VM tests may share the machine: compare ratios within a run).")
            .AppendLine()
            .AppendLine("![resume latency by step](restore.png)");
        return text.ToString();

        static string Row(string what, List<double> values, double baseline) =>
            $"| {what} | {RestoreRun.Median(values):0} ms | {values.Min():0} ms | {values.Max():0} ms | {baseline:0} ms | {RestoreRun.Median(values) / baseline:0.00}× | {Goal}× |";
    }

    private static string Machine()
    {
        var model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim() ?? "unknown CPU";
        return $"{Environment.ProcessorCount} cores ({model})";
    }

    /// <summary>GraphQL over HTTP with the admin key; an answer with errors throws.</summary>
    private sealed class GraphQL(HttpClient http)
    {
        public async Task<JsonNode> Post(string query)
        {
            using var response = await http.PostAsync("/graphql", new StringContent(new JsonObject { ["query"] = query }.ToJsonString(), Encoding.UTF8, "application/json"));
            var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            if (answer["errors"] is JsonArray { Count: > 0 } errors)
                throw new InvalidOperationException($"GraphQL: {errors.ToJsonString()} for {query}");
            return answer["data"]!;
        }

        public async Task Exec(string id)
        {
            var exit = (await Post($"mutation {{ exec(sandboxId: \"{id}\", command: \"true\") {{ exitCode }} }}"))["exec"]!["exitCode"]!.GetValue<int>();
            if (exit != 0)
                throw new InvalidOperationException($"exec true in {id} exited {exit}");
        }
    }
}
