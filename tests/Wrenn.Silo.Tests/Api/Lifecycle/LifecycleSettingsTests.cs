namespace Wrenn.Silo.Tests.Api.Lifecycle;

/// <summary>
/// The lifecycle settings through the API: set at create, read on Sandbox, changed by
/// updateSandboxLifecycle (an omitted argument keeps its value, autoPause: null turns it off), kept
/// across pause and resume, bad input refused naming the field; onTimeout PAUSE on a real VM.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class LifecycleSettingsTests(ApiFixture api)
{
    private readonly LifecycleApi _sandboxes = new(api);

    private const string Settings = "onTimeout autoPause { idleSeconds } autoResume";

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(4)]
    public async Task A_create_with_idleSeconds_below_5_is_BAD_USER_INPUT_naming_the_field(int idleSeconds)
    {
        var (code, message) = await api.ErrorAsync($"mutation {{ createSandbox(input: {{template: \"base\", autoPause: {{idleSeconds: {idleSeconds}}}}}) {{ id }} }}");
        Assert.Equal("BAD_USER_INPUT", code);
        Assert.Contains("idleSeconds", message);
        Assert.Contains(idleSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), message);
    }

    [Fact]
    public async Task Settings_are_read_changed_by_updateSandboxLifecycle_and_kept_across_pause_and_resume()
    {
        var id = await _sandboxes.CreateAsync("onTimeout: PAUSE, autoPause: {idleSeconds: 600}, autoResume: true");
        try
        {
            string Read(System.Text.Json.Nodes.JsonNode s) => new System.Text.Json.Nodes.JsonObject
            {
                ["onTimeout"] = s["onTimeout"]!.DeepClone(), ["autoPause"] = s["autoPause"]?.DeepClone(), ["autoResume"] = s["autoResume"]!.DeepClone(),
            }.ToJsonString();
            Assert.Equal("""{"onTimeout":"PAUSE","autoPause":{"idleSeconds":600},"autoResume":true}""", Read(await _sandboxes.GetAsync(id)));

            // Omitted arguments keep their values.
            var changed = (await api.DataAsync($"mutation ($id: ID!) {{ updateSandboxLifecycle(id: $id, autoResume: false) {{ {Settings} }} }}", new { id }))["updateSandboxLifecycle"]!;
            Assert.Equal("""{"onTimeout":"PAUSE","autoPause":{"idleSeconds":600},"autoResume":false}""", changed.ToJsonString());

            // Bad input changes nothing and names the field.
            foreach (var bad in new[] { 0, -1, 4 })
            {
                var (code, message) = await api.ErrorAsync("mutation ($id: ID!, $s: Int!) { updateSandboxLifecycle(id: $id, autoPause: {idleSeconds: $s}, onTimeout: DESTROY) { id } }", new { id, s = bad });
                Assert.Equal("BAD_USER_INPUT", code);
                Assert.Contains("autoPause.idleSeconds", message);
            }
            Assert.Equal("""{"onTimeout":"PAUSE","autoPause":{"idleSeconds":600},"autoResume":false}""", Read(await _sandboxes.GetAsync(id)));

            // A pause and a resume keep every setting; a change while paused holds after the resume.
            await api.DataAsync("mutation ($id: ID!) { pauseSandbox(id: $id) { state } }", new { id });
            Assert.Equal("""{"onTimeout":"PAUSE","autoPause":{"idleSeconds":600},"autoResume":false}""", Read(await _sandboxes.GetAsync(id)));
            // An explicit null turns autoPause off (a variable given as null too); the others stay.
            await api.DataAsync("mutation ($id: ID!, $none: AutoPauseInput) { updateSandboxLifecycle(id: $id, autoPause: $none, autoResume: true) { id } }", new { id, none = (object?)null });
            var resumed = (await api.DataAsync($"mutation ($id: ID!) {{ resumeSandbox(id: $id) {{ state pausedReason {Settings} }} }}", new { id }))["resumeSandbox"]!;
            Assert.Equal("""{"state":"RUNNING","pausedReason":null,"onTimeout":"PAUSE","autoPause":null,"autoResume":true}""", resumed.ToJsonString());
        }
        finally
        {
            await _sandboxes.DestroyAsync(id);
        }
    }

    [Fact]
    public async Task With_onTimeout_PAUSE_the_deadline_pauses_it_with_reason_TIMEOUT_and_a_wake_gives_it_a_whole_timeout()
    {
        var id = await _sandboxes.CreateAsync("onTimeout: PAUSE, autoResume: true", timeoutSeconds: 6);
        try
        {
            await api.DataAsync("mutation ($id: ID!) { writeFile(sandboxId: $id, path: \"/root/before-timeout\", content: \"kept\") { size } }", new { id });
            var (paused, after) = await _sandboxes.WaitForAsync(id, "PAUSED", TimeSpan.FromSeconds(40));
            Assert.Equal("TIMEOUT", paused["pausedReason"]!.GetValue<string>());
            Assert.True(after > TimeSpan.FromSeconds(3), $"paused after {after.TotalSeconds:0.0} s of a 6 s timeout");
            Assert.Equal(1, await _sandboxes.AuditedAsync(id, "sandbox.timeout-pause"));
            Assert.Equal(0, await _sandboxes.AuditedAsync(id, "sandbox.timeout")); // not destroyed

            // The wake finds the file and gives it a whole timeout again (not the second it had left), so it does not pause at once.
            var woken = await api.DataAsync("query ($id: ID!) { readFile(sandboxId: $id, path: \"/root/before-timeout\") { content } }", new { id });
            Assert.Equal("kept", woken["readFile"]!["content"]!.GetValue<string>());
            var running = await _sandboxes.GetAsync(id);
            Assert.Equal("RUNNING", LifecycleApi.State(running));
            var left = running["expiresAt"]!.GetValue<DateTimeOffset>() - DateTimeOffset.UtcNow;
            Assert.True(left > TimeSpan.FromSeconds(3), $"{left.TotalSeconds:0.0} s left after the wake");
            var (again, _) = await _sandboxes.WaitForAsync(id, "PAUSED", TimeSpan.FromSeconds(40));
            Assert.Equal("TIMEOUT", again["pausedReason"]!.GetValue<string>());
        }
        finally
        {
            await _sandboxes.DestroyAsync(id);
        }
    }
}
