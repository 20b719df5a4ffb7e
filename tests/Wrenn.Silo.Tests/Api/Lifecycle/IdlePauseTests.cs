namespace Wrenn.Silo.Tests.Api.Lifecycle;

/// <summary>
/// autoPause on real VMs: an idle sandbox pauses itself (reason IDLE) after idleSeconds; a guest busy
/// with a process nobody is attached to is not idle (its own CPU time says so), nor is one with an
/// exec or an attached output open.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class IdlePauseTests(ApiFixture api)
{
    private readonly LifecycleApi _sandboxes = new(api);

    [Fact]
    public async Task An_idle_sandbox_pauses_itself_after_idleSeconds_with_reason_IDLE()
    {
        var id = await _sandboxes.CreateAsync("autoPause: {idleSeconds: 5}");
        try
        {
            var created = await _sandboxes.GetAsync(id);
            Assert.Equal(5, created["autoPause"]!["idleSeconds"]!.GetValue<int>());
            Assert.Null(created["pausedReason"]);
            var (paused, after) = await _sandboxes.WaitForAsync(id, "PAUSED", TimeSpan.FromSeconds(40));
            Assert.Equal("IDLE", paused["pausedReason"]!.GetValue<string>());
            // Not before its idle time (the create returned RUNNING; the window started then), and its settings stay.
            Assert.True(after >= TimeSpan.FromSeconds(4.5), $"paused {after.TotalSeconds:0.0} s after its create");
            Assert.Equal(5, paused["autoPause"]!["idleSeconds"]!.GetValue<int>());
            Assert.Equal(1, await _sandboxes.AuditedAsync(id, "sandbox.idle-pause"));
        }
        finally
        {
            await _sandboxes.DestroyAsync(id);
        }
    }

    [Fact]
    public async Task A_CPU_busy_process_with_nobody_attached_keeps_it_running_until_it_stops()
    {
        var id = await _sandboxes.CreateAsync("autoPause: {idleSeconds: 5}");
        try
        {
            // A build, as far as the guest's CPU is concerned: one vCPU busy, and nobody attached to it.
            var pid = (await api.DataAsync("mutation ($id: ID!) { startProcess(sandboxId: $id, command: \"sh\", args: [\"-c\", \"while :; do :; done\"]) { pid } }",
                new { id }))["startProcess"]!["pid"]!.GetValue<int>();
            await _sandboxes.StaysAsync(id, "RUNNING", TimeSpan.FromSeconds(15), "a busy guest is not idle");

            await api.DataAsync("mutation ($id: ID!, $pid: Int!) { signalProcess(sandboxId: $id, pid: $pid, signal: KILL) }", new { id, pid });
            var (paused, _) = await _sandboxes.WaitForAsync(id, "PAUSED", TimeSpan.FromSeconds(40));
            Assert.Equal("IDLE", paused["pausedReason"]!.GetValue<string>());
        }
        finally
        {
            await _sandboxes.DestroyAsync(id);
        }
    }

    [Fact]
    public async Task An_open_execStream_or_processOutput_subscription_keeps_it_running()
    {
        var id = await _sandboxes.CreateAsync("autoPause: {idleSeconds: 5}");
        try
        {
            // An exec that waits (no CPU) is open for 12 s: the sandbox stays up for it.
            await using (var exec = await ApiSubscription.StartAsync(api, id, "execStream",
                "subscription ($id: ID!) { execStream(sandboxId: $id, command: \"sh\", args: [\"-c\", \"echo started; sleep 12; echo done\"]) { type data exitCode } }", new { id }))
            {
                await exec.UntilAsync(e => e["data"]?.GetValue<string>() == "started\n");
                await _sandboxes.StaysAsync(id, "RUNNING", TimeSpan.FromSeconds(9), "an open exec is use");
                var rest = await exec.UntilCompleteAsync(TimeSpan.FromSeconds(30));
                Assert.Contains(rest, e => e["type"]!.GetValue<string>() == "EXIT" && e["exitCode"]!.GetValue<int>() == 0);
            }

            // A user attached to a quiet process's output is use too.
            var pid = (await api.DataAsync("mutation ($id: ID!) { startProcess(sandboxId: $id, command: \"sleep\", args: [\"600\"]) { pid } }", new { id }))["startProcess"]!["pid"]!.GetValue<int>();
            await using (var attached = await ApiSubscription.StartAsync(api, id, "processOutput",
                "subscription ($id: ID!, $pid: Int!) { processOutput(sandboxId: $id, pid: $pid) { type data } }", new { id, pid }))
            {
                await _sandboxes.StaysAsync(id, "RUNNING", TimeSpan.FromSeconds(10), "an attached output is use");
                await attached.CompleteAsync();
            }

            // Nobody left, nothing busy: it pauses.
            var (paused, _) = await _sandboxes.WaitForAsync(id, "PAUSED", TimeSpan.FromSeconds(40));
            Assert.Equal("IDLE", paused["pausedReason"]!.GetValue<string>());
        }
        finally
        {
            await _sandboxes.DestroyAsync(id);
        }
    }
}
