using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Hosting;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

namespace Wrenn.Silo.Tests.Sandboxes;

/// <summary>
/// Lifecycle settings live in the sandbox's record: a silo restart that re-adopts the VM keeps them
/// (and its autoPause watch runs again), a pause on exit is recorded as SHUTDOWN, and the wake after
/// the next start keeps them too.
/// </summary>
public sealed class LifecycleRestartTests(SiloFixture silo) : IClassFixture<SiloFixture>
{
    private ISandboxGrain Sandbox(string id) => silo.Host.Sandboxes.Sandbox(id);

    private async Task<SandboxInfo> WaitForAsync(string id, SandboxState state, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var info = await Sandbox(id).GetAsync(silo.Admin);
            if (info.State == state || DateTime.UtcNow > deadline)
                return info;
            await Task.Delay(250);
        }
    }

    private async Task<int> StartBusyLoopAsync(string id) =>
        (await Sandbox(id).StartProcessAsync(silo.Admin, new ProcessStart("sh", ["-c", "while :; do :; done"]), CancellationToken.None)).Pid;

    [Fact]
    public async Task Settings_survive_re_adoption_a_pause_on_exit_is_SHUTDOWN_and_the_wake_after_the_restart_keeps_them()
    {
        var settings = new SandboxLifecycle(TimeoutAction.Pause, IdleSeconds: 5, AutoResume: true);
        SandboxInfo created;
        using (await MachineGate.EnterAsync())
            created = await silo.Host.Sandboxes.CreateAsync(silo.Admin, new NewSandbox("base", TimeoutSeconds: 900, Lifecycle: settings), CancellationToken.None);
        var id = created.Id;
        var expected = settings with { TimeoutSeconds = 900 };
        try
        {
            Assert.Equal(expected, created.Lifecycle);
            var busy = await StartBusyLoopAsync(id); // not idle across the restart

            await silo.RestartAsync(OnExit.Keep);
            var adopted = await Sandbox(id).GetAsync(silo.Admin);
            Assert.Equal((SandboxState.Running, expected), (adopted.State, adopted.Lifecycle));
            // The re-adopted sandbox's autoPause runs again from its record: once the loop stops, it pauses as idle.
            await Sandbox(id).SignalProcessAsync(silo.Admin, busy, ProcessSignal.Kill, CancellationToken.None);
            var idle = await WaitForAsync(id, SandboxState.Paused, TimeSpan.FromSeconds(60));
            Assert.Equal((SandboxState.Paused, PauseReason.Idle, expected), (idle.State, idle.PausedReason, idle.Lifecycle));

            // Woken by a call, busy again, then the silo stops pausing everything.
            await StartBusyLoopAsync(id);
            Assert.Equal(SandboxState.Running, (await Sandbox(id).GetAsync(silo.Admin)).State);
            await silo.RestartAsync(OnExit.Pause);
            var shutdown = await Sandbox(id).GetAsync(silo.Admin);
            Assert.Equal((SandboxState.Paused, PauseReason.Shutdown, expected), (shutdown.State, shutdown.PausedReason, shutdown.Lifecycle));

            var echoed = await Sandbox(id).ExecAsync(silo.Admin, new ExecRequest("echo", ["awake"]), CancellationToken.None);
            Assert.Equal("awake\n", echoed.Stdout);
            var woken = await Sandbox(id).GetAsync(silo.Admin);
            Assert.Equal((SandboxState.Running, (PauseReason?)null, expected), (woken.State, woken.PausedReason, woken.Lifecycle));
        }
        finally
        {
            await Sandbox(id).DestroyAsync(silo.Admin);
        }
    }
}
