using System.Net;
using System.Text.Json.Nodes;

namespace Wrenn.Silo.Tests.Api;

/// <summary>Sandbox and host metrics through GraphQL (queries and the subscription), the Prometheus endpoint and the console's plots, on real VMs.</summary>
[Collection(ApiCollection.Name)]
public sealed class MetricsTests(ApiFixture api)
{
    private const string Fields = "cpuPercent memoryUsedMib memoryTotalMib diskUsedMib diskTotalMib netRxBytes netTxBytes hostCpuPercent hostMemoryMib sampledAt";

    /// <summary>A busy loop in its own session (so the exec that starts it ends at once), stopped by timeout after two minutes.</summary>
    private const string CpuLoop = "setsid timeout 120 sh -c 'while :; do :; done' >/dev/null 2>&1 </dev/null & echo started";

    private async Task<string> CreateAsync()
    {
        var (_, created) = await api.GraphQLAsync(api.AdminKey, "mutation { createSandbox(input: {template: \"base\", timeoutSeconds: 600}) { id } }");
        Assert.Null(created["errors"]);
        return created["data"]!["createSandbox"]!["id"]!.GetValue<string>();
    }

    private async Task<JsonNode> SandboxAsync(string id, string selection)
    {
        var (_, body) = await api.GraphQLAsync(api.AdminKey, $"query ($id: ID!) {{ sandbox(id: $id) {{ {selection} }} }}", new { id });
        Assert.Null(body["errors"]);
        return body["data"]!["sandbox"]!;
    }

    private async Task StartCpuLoopAsync(string id)
    {
        var (_, loop) = await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!, $script: String!) { exec(sandboxId: $id, command: \"sh\", args: [\"-c\", $script]) { exitCode stdout } }",
            new { id, script = CpuLoop });
        Assert.Equal("started\n", loop["data"]!["exec"]!["stdout"]!.GetValue<string>());
    }

    private async Task DestroyAsync(string id) => await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { destroySandbox(id: $id) }", new { id });

    [Fact]
    public async Task A_running_sandbox_shows_its_guest_and_VMM_use_a_history_every_five_seconds_and_live_samples_and_none_while_paused()
    {
        var id = await CreateAsync();
        try
        {
            var sandbox = await SandboxAsync(id, $"memoryMib metrics {{ {Fields} }}");
            var now = sandbox["metrics"]!;
            Assert.InRange(now["memoryTotalMib"]!.GetValue<int>(), 1, sandbox["memoryMib"]!.GetValue<int>());
            Assert.InRange(now["memoryUsedMib"]!.GetValue<int>(), 1, now["memoryTotalMib"]!.GetValue<int>());
            Assert.InRange(now["diskUsedMib"]!.GetValue<int>(), 1, now["diskTotalMib"]!.GetValue<int>());
            Assert.InRange(now["cpuPercent"]!.GetValue<double>(), 0, 100);
            Assert.True(now["hostMemoryMib"]!.GetValue<int>() > 0, "the VMM's PSS is read from the host");
            Assert.True(now["netRxBytes"]!.GetValue<double>() > 0, "the agent's own traffic passed the guest's eth0");

            await StartCpuLoopAsync(id);
            var ws = new UriBuilder(api.BaseAddress) { Scheme = "ws", Path = "/graphql" }.Uri.ToString();
            var live = await ApiFixture.NodeAsync("metrics-stream.mjs", ws, api.AdminKey, id, "1", "4");
            Assert.Null(live["error"]);
            var samples = live["samples"]!.AsArray();
            Assert.Equal(4, samples.Count);
            var times = samples.Select(s => DateTimeOffset.Parse(s!["sampledAt"]!.GetValue<string>())).ToList();
            Assert.Equal(times.Order(), times);
            Assert.True(samples[^1]!["cpuPercent"]!.GetValue<double>() >= 50, $"a busy loop shows: {live.ToJsonString()}");

            // The background sampler keeps one sample every 5 s while it runs.
            JsonArray history = [];
            for (var i = 0; i < 60 && history.Count < 3; i++)
            {
                await Task.Delay(1000);
                history = (await SandboxAsync(id, $"metricsHistory(minutes: 1) {{ {Fields} }}"))["metricsHistory"]!.AsArray();
            }
            Assert.True(history.Count >= 3, $"three samples within a minute: {history.ToJsonString()}");
            var gaps = history.Zip(history.Skip(1), (a, b) => DateTimeOffset.Parse(b!["sampledAt"]!.GetValue<string>()) - DateTimeOffset.Parse(a!["sampledAt"]!.GetValue<string>())).ToList();
            Assert.All(gaps, gap => Assert.InRange(gap.TotalSeconds, 4, 30));
            Assert.True(history[^1]!["cpuPercent"]!.GetValue<double>() >= 50, history.ToJsonString());

            // The host shows it among its live use.
            var (_, hosts) = await api.GraphQLAsync(api.AdminKey, "{ hosts { name reservedVcpus usage { cpuPercent memoryUsedMib runningVms vmmMemoryMib } } }");
            var host = hosts["data"]!["hosts"]!.AsArray().Single(h => h!["name"]!.GetValue<string>() == api.Silo.Host.SiloName)!;
            Assert.True(host["reservedVcpus"]!.GetValue<int>() >= 1);
            Assert.True(host["usage"]!["runningVms"]!.GetValue<int>() >= 1, hosts.ToJsonString());
            Assert.True(host["usage"]!["vmmMemoryMib"]!.GetValue<int>() > 0, hosts.ToJsonString());
            Assert.True(host["usage"]!["memoryUsedMib"]!.GetValue<int>() > 0);

            var (_, paused) = await api.GraphQLAsync(api.AdminKey, $"mutation ($id: ID!) {{ pauseSandbox(id: $id) {{ state metrics {{ cpuPercent }} metricsHistory(minutes: 5) {{ sampledAt }} }} }}", new { id });
            Assert.Null(paused["errors"]);
            Assert.Null(paused["data"]!["pauseSandbox"]!["metrics"]);
            Assert.True(paused["data"]!["pauseSandbox"]!["metricsHistory"]!.AsArray().Count >= 3, "the history stays while it is paused");
            var (_, resumed) = await api.GraphQLAsync(api.AdminKey, $"mutation ($id: ID!) {{ resumeSandbox(id: $id) {{ state metrics {{ memoryTotalMib }} }} }}", new { id });
            Assert.True(resumed["data"]!["resumeSandbox"]!["metrics"]!["memoryTotalMib"]!.GetValue<int>() > 0, resumed.ToJsonString());

            var (_, bad) = await api.GraphQLAsync(api.AdminKey, "query ($id: ID!) { sandbox(id: $id) { metricsHistory(minutes: 0) { sampledAt } } }", new { id });
            Assert.Equal("BAD_USER_INPUT", bad["errors"]![0]!["extensions"]!["code"]!.GetValue<string>());
        }
        finally
        {
            await DestroyAsync(id);
        }
    }

    [Fact]
    public async Task Prometheus_parses_the_metrics_endpoint_and_finds_wrenn_series_of_operations_execs_errors_hosts_and_Orleans()
    {
        var id = await CreateAsync();
        await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { exec(sandboxId: $id, command: \"true\") { exitCode } }", new { id });
        var (_, missing) = await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { exec(sandboxId: $id, command: \"no-such-command\") { exitCode } }", new { id });
        Assert.NotNull(missing["errors"]);
        await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { pauseSandbox(id: $id) { state } }", new { id });
        await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { resumeSandbox(id: $id) { state } }", new { id });
        try
        {
            var base_ = api.BaseAddress.ToString().TrimEnd('/');
            var scrape = await ApiFixture.NodeAsync("scrape-metrics.mjs", base_, api.AdminKey);
            Assert.Null(scrape["error"]);
            Assert.Equal(200, scrape["status"]!.GetValue<int>());
            Assert.StartsWith("text/plain", scrape["contentType"]!.GetValue<string>());
            var families = scrape["families"]!.AsArray().ToDictionary(f => f!["name"]!.GetValue<string>(), f => f!);
            Assert.All(families.Keys, name => Assert.StartsWith("wrenn_", name));
            // No series names a sandbox.
            Assert.DoesNotContain("sb-", scrape["families"]!.ToJsonString());

            double Value(string family, params (string Label, string Value)[] labels) => families[family]["metrics"]!.AsArray()
                .Where(m => labels.All(l => m!["labels"]?[l.Label]?.GetValue<string>() == l.Value))
                .Sum(m => double.Parse(m!["value"]?.GetValue<string>() ?? m!["count"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));

            Assert.True(Value("wrenn_sandboxes", ("state", "running")) >= 1);
            Assert.True(Value("wrenn_sandbox_operations_total", ("operation", "create"), ("outcome", "ok")) >= 1);
            Assert.True(Value("wrenn_sandbox_operations_total", ("operation", "pause"), ("outcome", "ok")) >= 1);
            Assert.True(Value("wrenn_sandbox_operations_total", ("operation", "resume"), ("outcome", "ok")) >= 1);
            Assert.Equal("HISTOGRAM", families["wrenn_sandbox_operation_duration_seconds"]["type"]!.GetValue<string>());
            // parse-prometheus-text-format folds a histogram's labelled series into one, labels lost: its
            // count by operation is read from the exposition's own _count line.
            var createCount = System.Text.RegularExpressions.Regex.Match(scrape["text"]!.GetValue<string>(),
                @"^wrenn_sandbox_operation_duration_seconds_count\{(?=[^}]*operation=""create"")(?=[^}]*outcome=""ok"")[^}]*\} (\d+)", System.Text.RegularExpressions.RegexOptions.Multiline);
            Assert.True(createCount.Success && long.Parse(createCount.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 1, "the histogram counts creates");
            Assert.True(Value("wrenn_sandbox_execs_total") >= 2);
            Assert.True(Value("wrenn_agent_errors_total", ("method", "Start"), ("code", "NotFound")) >= 1);
            Assert.True(Value("wrenn_host_vcpus") > 0);
            Assert.True(Value("wrenn_host_vcpus_reserved") >= 1);
            Assert.True(Value("wrenn_host_memory_used_bytes") > 0);
            Assert.Contains(families.Keys, name => name.StartsWith("wrenn_orleans_", StringComparison.Ordinal));

            await DestroyAsync(id);
            var after = await ApiFixture.NodeAsync("scrape-metrics.mjs", base_, api.AdminKey);
            Assert.Contains(after["families"]!.AsArray(), f => f!["name"]!.GetValue<string>() == "wrenn_sandbox_operations_total"
                && f["metrics"]!.AsArray().Any(m => m!["labels"]!["operation"]!.GetValue<string>() == "destroy"));

            // Admins only.
            var noKey = await ApiFixture.NodeAsync("scrape-metrics.mjs", base_, "");
            Assert.Equal((int)HttpStatusCode.Unauthorized, noKey["status"]!.GetValue<int>());
            var (_, team) = await api.GraphQLAsync(api.AdminKey, $"mutation {{ createTeam(name: \"metrics-{Guid.NewGuid():N}\") {{ id }} }}");
            var (_, key) = await api.GraphQLAsync(api.AdminKey, "mutation ($t: String!) { createApiKey(team: $t) { key } }", new { t = team["data"]!["createTeam"]!["id"]!.GetValue<string>() });
            var member = await ApiFixture.NodeAsync("scrape-metrics.mjs", base_, key["data"]!["createApiKey"]!["key"]!.GetValue<string>());
            Assert.Equal((int)HttpStatusCode.Forbidden, member["status"]!.GetValue<int>());
        }
        finally
        {
            await DestroyAsync(id);
        }
    }

    [Fact]
    public async Task The_console_plots_a_busy_sandboxs_cpu_and_memory_live_and_lists_hosts_and_templates()
    {
        if (!File.Exists(Environment.GetEnvironmentVariable("WRENN_CHROMIUM") ?? "/usr/bin/chromium"))
            Assert.Fail("Debian's chromium is missing: scripts/setup installs it (apt install chromium).");
        var id = await CreateAsync();
        try
        {
            await StartCpuLoopAsync(id);
            var screenshot = Path.Combine(Wrenn.Testing.RepoPaths.Root, "artifacts", "screenshots", "console-metrics.png");
            Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
            var result = await ApiFixture.NodeAsync("console-metrics.mjs", api.BaseAddress.ToString().TrimEnd('/'), api.AdminKey, id, screenshot);
            Assert.True(result["error"] is null, $"{result["error"]}; plotted: {result["plotted"]?.ToJsonString()}; page errors: {result["pageErrors"]?.ToJsonString()}");
            var cpu = result["cpu"]!.AsArray();
            var guest = cpu[1]!.AsArray().Select(v => v!.GetValue<double>()).ToList();
            Assert.True(guest.TakeLast(3).Any(v => v >= 50), $"recent plotted CPU: {cpu.ToJsonString()}");
            var memory = result["memory"]!.AsArray()[1]!.AsArray().Select(v => v!.GetValue<double>()).ToList();
            Assert.True(memory.Count >= 2 && memory.All(v => v > 0), result["memory"]!.ToJsonString());
            Assert.Contains(result["hosts"]!.AsArray(), row => row![0]!.GetValue<string>() == api.Silo.Host.SiloName);
            Assert.Contains(result["templates"]!.AsArray(), row => row![0]!.GetValue<string>() == "base");
            Assert.True(new FileInfo(screenshot).Length > 10_000, "a screenshot of the page was saved");
        }
        finally
        {
            await DestroyAsync(id);
        }
    }
}
