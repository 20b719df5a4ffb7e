using System.Diagnostics;
using System.Net.Http.Headers;
using Xunit.Abstractions;

namespace Wrenn.Silo.Tests.Api.Lifecycle;

/// <summary>
/// Files are never lost across pauses, whatever paused the sandbox: ten cycles of user, idle and timeout
/// pauses, each woken another way (resumeSandbox, an exec, GET /files, a forwarded request), with every
/// byte written so far and a process that keeps writing checked after each.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class PauseIntegrityTests(ApiFixture api, ITestOutputHelper output)
{
    private readonly LifecycleApi _sandboxes = new(api);

    private enum Pause { User, Idle, Timeout }

    private enum Wake { Resume, Exec, Files, Port }

    [Fact]
    public async Task Files_and_a_writing_process_survive_ten_user_idle_and_timeout_pauses_and_wakes()
    {
        var clock = Stopwatch.StartNew();
        var id = await _sandboxes.CreateAsync("onTimeout: PAUSE, autoResume: true");
        try
        {
            // A process that keeps writing (a line every 0.2 s; Python, so no fork per line: little CPU, so it never keeps
            // the sandbox from idling), and a server for the forwarded requests.
            const string writer = "import time\nn = 0\nwhile True:\n    n += 1\n    with open('/root/progress', 'a') as f:\n        f.write(f'{n}\\n')\n    time.sleep(0.2)\n";
            await api.DataAsync("mutation ($id: ID!, $a: [String!]) { startProcess(sandboxId: $id, command: \"python3\", args: $a) { pid } }", new { id, a = new[] { "-c", writer } });
            await api.DataAsync("mutation ($id: ID!) { makeDir(sandboxId: $id, path: \"/root/data\") { path } }", new { id });
            await api.DataAsync("mutation ($id: ID!) { startProcess(sandboxId: $id, command: \"python3\", args: [\"-m\", \"http.server\", \"8000\", \"--directory\", \"/root/data\"]) { pid } }", new { id });
            await LifecycleApi.UntilListeningAsync(api, id, 8000);

            var written = new Dictionary<string, byte[]>();
            var progress = 0;
            var random = new Random(18);
            for (var cycle = 0; cycle < 10; cycle++)
            {
                var pause = (Pause)(cycle % 3);
                var wake = (Wake)(cycle % 4);
                var started = clock.Elapsed;

                // New bytes (binary, a few KiB), and one earlier file rewritten, before the pause.
                var bytes = new byte[1024 + random.Next(8192)];
                random.NextBytes(bytes);
                var path = $"/root/data/f{cycle}";
                await api.DataAsync("mutation ($id: ID!, $p: String!, $c: String!) { writeFile(sandboxId: $id, path: $p, content: $c, encoding: BASE64) { size } }",
                    new { id, p = path, c = Convert.ToBase64String(bytes) });
                written[path] = bytes;

                switch (pause)
                {
                    case Pause.User:
                        await api.DataAsync("mutation ($id: ID!) { pauseSandbox(id: $id) { state } }", new { id });
                        break;
                    case Pause.Idle:
                        await api.DataAsync("mutation ($id: ID!) { updateSandboxLifecycle(id: $id, autoPause: {idleSeconds: 5}) { id } }", new { id });
                        break;
                    case Pause.Timeout:
                        await api.DataAsync("mutation ($id: ID!) { setSandboxTimeout(id: $id, seconds: 2) { id } }", new { id });
                        break;
                }
                var (paused, _) = await _sandboxes.WaitForAsync(id, "PAUSED", TimeSpan.FromSeconds(60));
                Assert.Equal(pause.ToString().ToUpperInvariant(), paused["pausedReason"]!.GetValue<string>());
                var pausedAt = clock.Elapsed;
                // Set while paused, the timeout is what the resume gives it (a timeout pause's resume otherwise gets the 2 s again).
                if (pause == Pause.Timeout)
                    await api.DataAsync("mutation ($id: ID!) { setSandboxTimeout(id: $id, seconds: 1800) { id } }", new { id });

                // The wake, then every byte of every file, through the API.
                switch (wake)
                {
                    case Wake.Resume:
                        await api.DataAsync("mutation ($id: ID!) { resumeSandbox(id: $id) { state } }", new { id });
                        break;
                    case Wake.Exec:
                        Assert.Equal("up\n", (await _sandboxes.ExecAsync(id, "echo", "up"))["stdout"]!.GetValue<string>());
                        break;
                    case Wake.Files:
                        Assert.Equal(bytes, await GetAsync($"/files/{id}?path={path}"));
                        break;
                    case Wake.Port:
                        Assert.Equal(bytes, await GetAsync($"/sandboxes/{id}/ports/8000/f{cycle}"));
                        break;
                }
                var wokenAt = clock.Elapsed;
                Assert.Equal("RUNNING", LifecycleApi.State(await _sandboxes.GetAsync(id)));
                if (pause == Pause.Idle)
                    await api.DataAsync("mutation ($id: ID!) { updateSandboxLifecycle(id: $id, autoPause: null) { id } }", new { id });

                foreach (var (file, content) in written)
                {
                    var read = await api.DataAsync("query ($id: ID!, $p: String!) { readFile(sandboxId: $id, path: $p, encoding: BASE64) { content } }", new { id, p = file });
                    Assert.True(content.AsSpan().SequenceEqual(Convert.FromBase64String(read["readFile"]!["content"]!.GetValue<string>())), $"cycle {cycle}: {file} changed");
                }

                // The writer went on from where it was, every number once and in order.
                await Task.Delay(1000);
                var lines = (await api.DataAsync("query ($id: ID!) { readFile(sandboxId: $id, path: \"/root/progress\") { content } }", new { id }))["readFile"]!["content"]!
                    .GetValue<string>().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
                Assert.Equal(Enumerable.Range(1, lines.Count), lines);
                Assert.True(lines.Count > progress, $"cycle {cycle}: the writer stopped at {lines.Count} (was {progress})");
                progress = lines.Count;
                output.WriteLine($"cycle {cycle}: {pause} pause after {(pausedAt - started).TotalSeconds:0.0} s, {wake} wake in {(wokenAt - pausedAt).TotalSeconds:0.0} s, {written.Count} files, writer at {progress}");
            }
            output.WriteLine($"10 cycles in {clock.Elapsed.TotalSeconds:0} s");
        }
        finally
        {
            await _sandboxes.DestroyAsync(id);
        }
    }

    private async Task<byte[]> GetAsync(string pathAndQuery)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(api.BaseAddress, pathAndQuery));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", api.AdminKey);
        using var response = await api.Http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {pathAndQuery}: {(int)response.StatusCode} {System.Text.Encoding.UTF8.GetString(body)}");
        return body;
    }
}
