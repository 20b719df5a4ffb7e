using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Abstractions.Plugins;
using Wrenn.Guest.Protocol;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

namespace Wrenn.Vmm.Qemu.Tests;

/// <summary>
/// Pause to disk and resume, on real QEMU VMs with guest RAM in a file (memory-file plugin) and the
/// guest clock set from the host after every restore (clock-chrony; TCG guests have no PTP clock).
/// </summary>
public sealed class PauseResumeTests(VmFixture fixture) : IClassFixture<VmFixture>
{
    private readonly CancellationToken Ct = new CancellationTokenSource(TimeSpan.FromMinutes(4)).Token;

    private SandboxVms Vms() => fixture.Plugins.WithSnapshots(NullLoggerFactory.Instance);

    [Fact]
    public async Task A_running_process_keeps_counting_across_a_pause_and_the_clock_is_right_after_resume()
    {
        var vms = Vms();
        SandboxVm sandbox;
        using (await MachineGate.EnterAsync())
            sandbox = await vms.CreateAsync(Grains.Ids.SandboxId.New().ToString(), fixture.Image, new VmSize(1, 256), Ct);
        PausedSandboxVm? paused = null;
        try
        {
            using (var agent = sandbox.Agent())
            {
                // A counter in its own session, so it outlives the exec that started it. It ticks every
                // 100 ms of the guest's monotonic clock (deadline-based, so CPU contention on the host
                // does not slow it): a guest clock that counted the pause would show as a burst of ticks.
                await agent.ExecAsync("sh", ["-c", "setsid python3 -c \"import os,time\ni=0\nnext=time.monotonic()\nwhile True:\n i+=1; open('/root/counter.tmp','w').write(str(i)); os.replace('/root/counter.tmp','/root/counter'); next+=0.1; time.sleep(max(0,next-time.monotonic()))\" >/dev/null 2>&1 &"], Ct);
                await agent.WriteAllBytesAsync("/root/before-pause.txt", "kept"u8.ToArray(), Ct);
            }
            var (startCount, startAt) = await WaitForCounterAsync(sandbox);
            await Task.Delay(TimeSpan.FromSeconds(4), Ct);
            var (beforeCount, beforeAt) = await ReadCounterAsync(sandbox);
            var rate = (beforeCount - startCount) / (beforeAt - startAt).TotalSeconds;
            Assert.True(rate > 1, $"the counter barely runs ({rate:0.0}/s)");

            // The guest stops somewhere inside PauseAsync and runs again somewhere inside ResumeAsync:
            // both calls are timed so that the running time is known to lie between two bounds.
            var pauseCalled = DateTime.UtcNow;
            using (await MachineGate.EnterAsync())
                paused = await vms.PauseAsync(sandbox, Ct);
            var pauseReturned = DateTime.UtcNow;

            // Paused: no VMM process, no namespace; only files remain.
            Assert.DoesNotContain(await fixture.Vmm.DiscoverAsync(fixture.Owner, Ct), v => v.SandboxId == sandbox.SandboxId);
            Assert.DoesNotContain(await fixture.Network.DiscoverAsync(fixture.Owner, Ct), s => s.SandboxId == sandbox.SandboxId);
            Assert.False(Directory.Exists(sandbox.WorkDir));
            var slotFile = $"/run/wrenn/net-slots/{sandbox.Network.Index}";
            Assert.False(File.Exists(slotFile) && File.ReadAllText(slotFile).Contains(sandbox.SandboxId), "a paused sandbox still holds its network slot");
            Assert.True(File.Exists(paused.Snapshot.StateFile));

            await Task.Delay(TimeSpan.FromSeconds(5), Ct);
            var resumeCalled = DateTime.UtcNow;
            using (await MachineGate.EnterAsync())
                sandbox = await vms.ResumeAsync(paused, fixture.Image, Ct);
            var resumeReturned = DateTime.UtcNow;
            paused = null;
            await using var clockKeeper = vms.KeepClock(sandbox);
            await GuestConsole.QuoteOnFailureAsync(sandbox, async () =>
            {
                using var agent = sandbox.Agent();
                var guestNow = await agent.GetTimeAsync(Ct);
                var offset = (guestNow - DateTimeOffset.UtcNow).Duration();
                if (offset > TimeSpan.FromSeconds(1))
                {
                    var clocksource = await agent.ExecAsync("sh", ["-c", "cat /sys/devices/system/clocksource/clocksource0/current_clocksource; dmesg | grep -i -E 'clocksource|tsc' | tail -n 5"], Ct);
                    Assert.Fail($"guest clock {offset} off right after resume; {clocksource.StdoutText}");
                }
                Assert.Equal("kept", System.Text.Encoding.UTF8.GetString(await agent.ReadAllBytesAsync("/root/before-pause.txt", Ct)));

                await Task.Delay(TimeSpan.FromSeconds(4), Ct);
                var (afterCount, afterAt) = await ReadCounterAsync(sandbox);
                var leastRunning = (pauseCalled - beforeAt) + (afterAt - resumeReturned);
                var mostRunning = (pauseReturned - beforeAt) + (afterAt - resumeCalled);
                var counted = afterCount - beforeCount;
                Assert.InRange(counted, rate * leastRunning.TotalSeconds * 0.8, rate * mostRunning.TotalSeconds * 1.2);

                // Still right after 30 s of running (the clock plugin keeps TCG guests in step).
                await Task.Delay(TimeSpan.FromSeconds(30), Ct);
                var sent = DateTimeOffset.UtcNow;
                var later = await agent.GetTimeAsync(Ct);
                var drift = (later - (sent + (DateTimeOffset.UtcNow - sent) / 2)).Duration();
                Assert.True(drift <= TimeSpan.FromSeconds(1), $"guest clock {drift} off after 30 s of running");
            });
        }
        finally
        {
            if (paused is not null)
                await vms.DestroyPausedAsync(paused, CancellationToken.None);
            else
                await vms.DestroyAsync(sandbox, CancellationToken.None);
        }
        Assert.False(Directory.Exists(vms.SnapshotDirFor(sandbox.SandboxId)), "destroy must remove the snapshot files");
    }

    [Fact]
    public async Task A_memory_region_checksums_the_same_after_every_restore_and_a_resumed_guest_loads_pages_lazily()
    {
        var vms = Vms();
        SandboxVm sandbox;
        using (await MachineGate.EnterAsync())
            sandbox = await vms.CreateAsync(Grains.Ids.SandboxId.New().ToString(), fixture.Image, new VmSize(1, 1024), Ct);
        PausedSandboxVm? paused = null;
        try
        {
            string expected;
            using (var agent = sandbox.Agent())
            {
                // 64 MiB of random bytes held in a guest process's memory (and a checksum of them).
                await agent.ExecAsync("sh", ["-c", "setsid python3 -c \"import os,hashlib,time\nb=bytearray(os.urandom(64*1024*1024))\nopen('/root/sum','w').write(hashlib.sha256(b).hexdigest())\nwhile True:\n time.sleep(0.5); open('/root/sum.tmp','w').write(hashlib.sha256(b).hexdigest()); os.replace('/root/sum.tmp','/root/sum-now')\" >/dev/null 2>&1 &"], Ct);
                expected = await WaitForFileAsync(agent, "/root/sum");
            }
            for (var round = 0; round < 3; round++)
            {
                using (await MachineGate.EnterAsync())
                {
                    paused = await vms.PauseAsync(sandbox, Ct);
                    sandbox = await vms.ResumeAsync(paused, fixture.Image, Ct);
                    paused = null;
                }
                if (round == 0)
                {
                    // Right after a restore only what the guest touched is resident, far below its 1 GiB.
                    var rssKib = ResidentKib(sandbox.Vm.Pid);
                    Assert.True(rssKib < 512 * 1024, $"resident {rssKib} KiB right after resume");
                }
                await GuestConsole.QuoteOnFailureAsync(sandbox, async () =>
                {
                    using var agent = sandbox.Agent();
                    await agent.RemoveAsync("/root/sum-now", false, Ct).ContinueWith(_ => { }, TaskScheduler.Default);
                    Assert.Equal(expected, await WaitForFileAsync(agent, "/root/sum-now"));
                });
            }
        }
        finally
        {
            if (paused is not null)
                await vms.DestroyPausedAsync(paused, CancellationToken.None);
            else
                await vms.DestroyAsync(sandbox, CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_pause_that_fails_midway_leaves_the_sandbox_running_not_half_paused()
    {
        // Snapshots go to a small tmpfs filled to the last block, as a full disk would be.
        var full = Path.Combine("/run/wrenn", fixture.Owner + "-full");
        Directory.CreateDirectory(full);
        await HostCommand.RunAsync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", full], CancellationToken.None);
        await HostCommand.TryRunAsync("dd", ["if=/dev/zero", $"of={full}/filler", "bs=4k"], CancellationToken.None);
        try
        {
            var cramped = fixture.Host with { DataDir = full };
            var vms = new SandboxVms(fixture.Vmm, fixture.Storage, fixture.Network, cramped, NullLogger<SandboxVms>.Instance,
                memory: fixture.Plugins.Memory);
            SandboxVm sandbox;
            using (await MachineGate.EnterAsync())
                sandbox = await vms.CreateAsync(Grains.Ids.SandboxId.New().ToString(), fixture.Image, new VmSize(1, 256), Ct);
            try
            {
                await Assert.ThrowsAsync<Wrenn.Abstractions.Vmm.VmmException>(() => vms.PauseAsync(sandbox, Ct));
                Assert.False(Directory.Exists(vms.SnapshotDirFor(sandbox.SandboxId)), "the partial snapshot is left");
                await GuestConsole.QuoteOnFailureAsync(sandbox, async () =>
                {
                    using var agent = sandbox.Agent();
                    Assert.Equal("still here\n", (await agent.ExecAsync("echo", ["still here"], Ct)).StdoutText);
                });
            }
            finally
            {
                await vms.DestroyAsync(sandbox, CancellationToken.None);
            }
        }
        finally
        {
            await HostCommand.TryRunAsync("umount", [full], CancellationToken.None);
            Directory.Delete(full, recursive: true);
        }
    }

    [Fact]
    public async Task A_shell_started_with_StartProcess_keeps_running_across_a_pause_and_can_be_attached_to_again()
    {
        var vms = Vms();
        SandboxVm sandbox;
        using (await MachineGate.EnterAsync())
            sandbox = await vms.CreateAsync(Grains.Ids.SandboxId.New().ToString(), fixture.Image, new VmSize(1, 256), Ct);
        PausedSandboxVm? paused = null;
        try
        {
            int pid;
            using (var agent = sandbox.Agent())
            {
                var shell = await agent.StartProcessAsync(new Guest.Protocol.V1.StartRequest { Command = "sh", Pty = new Guest.Protocol.V1.Pty { Cols = 80, Rows = 24 }, Tag = "kept" }, Ct);
                pid = shell.Pid;
                await agent.SendInputAsync(pid, "echo before-$((40+2))\n"u8.ToArray(), close: false, Ct);
                await using var output = agent.AttachAsync(pid, Ct).GetAsyncEnumerator(Ct);
                Assert.Contains("before-42", await TerminalUntilAsync(output, "before-42\r\n"));
            }

            using (await MachineGate.EnterAsync())
                paused = await vms.PauseAsync(sandbox, Ct);
            using (await MachineGate.EnterAsync())
                sandbox = await vms.ResumeAsync(paused, fixture.Image, Ct);
            paused = null;

            await GuestConsole.QuoteOnFailureAsync(sandbox, async () =>
            {
                using var agent = sandbox.Agent();
                // The process table lives in guest memory: the shell is still listed, running.
                var listed = Assert.Single(await agent.ListProcessesAsync(Ct), p => p.Pid == pid);
                Assert.Equal(("kept", true, null), (listed.Tag, listed.Pty, listed.Exited));
                await using var output = agent.AttachAsync(pid, Ct).GetAsyncEnumerator(Ct);
                // A new attacher gets what the shell said before the pause, then it answers new input.
                Assert.Contains("before-42", await TerminalUntilAsync(output, "before-42\r\n"));
                await agent.SendInputAsync(pid, "echo after-$((6*7))\n"u8.ToArray(), close: false, Ct);
                Assert.Contains("after-42", await TerminalUntilAsync(output, "after-42\r\n"));

                // Settle (clock and RNG in one call) sets the restored guest's clock for real.
                var settled = await agent.SettleAsync(DateTimeOffset.UtcNow, System.Security.Cryptography.RandomNumberGenerator.GetBytes(64), Ct);
                Assert.InRange(settled, DateTimeOffset.UtcNow.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
            });
        }
        finally
        {
            if (paused is not null)
                await vms.DestroyPausedAsync(paused, CancellationToken.None);
            else
                await vms.DestroyAsync(sandbox, CancellationToken.None);
        }
    }

    private static async Task<string> TerminalUntilAsync(IAsyncEnumerator<Guest.Protocol.V1.ProcessEvent> events, string expected)
    {
        var text = new System.Text.StringBuilder();
        while (!text.ToString().Contains(expected, StringComparison.Ordinal) && await events.MoveNextAsync())
        {
            if (events.Current.EventCase == Guest.Protocol.V1.ProcessEvent.EventOneofCase.Pty)
                text.Append(events.Current.Pty.Data.ToStringUtf8());
        }
        return text.ToString();
    }

    private async Task<(long Count, DateTime At)> WaitForCounterAsync(SandboxVm sandbox)
    {
        // python3 takes seconds to start under emulation, longer when other VMs boot beside it.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await ReadCounterAsync(sandbox);
            }
            catch (Wrenn.Guest.Protocol.AgentException) when (attempt < 120)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), Ct);
            }
        }
    }

    private async Task<(long Count, DateTime At)> ReadCounterAsync(SandboxVm sandbox)
    {
        using var agent = sandbox.Agent();
        var text = System.Text.Encoding.UTF8.GetString(await agent.ReadAllBytesAsync("/root/counter", Ct));
        return (long.Parse(text.Trim(), CultureInfo.InvariantCulture), DateTime.UtcNow);
    }

    private async Task<string> WaitForFileAsync(AgentClient agent, string path)
    {
        for (var i = 0; i < 240; i++)
        {
            try
            {
                var text = System.Text.Encoding.UTF8.GetString(await agent.ReadAllBytesAsync(path, Ct)).Trim();
                if (text.Length == 64)
                    return text;
            }
            catch (Wrenn.Guest.Protocol.AgentException e) when (e.Code == Grpc.Core.StatusCode.NotFound)
            {
            }
            await Task.Delay(250, Ct);
        }
        throw new TimeoutException($"{path} never appeared in the guest");
    }

    private static long ResidentKib(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

}

/// <summary>The guest clock on KVM hosts: chrony in the guest following the ptp_kvm clock.</summary>
public sealed class PtpClockTests(VmFixture fixture) : IClassFixture<VmFixture>
{
    [KvmFact]
    public async Task On_KVM_the_guest_runs_chrony_on_its_ptp_clock_and_needs_nothing_from_the_host()
    {
        var vms = fixture.Plugins.WithSnapshots(NullLoggerFactory.Instance);
        SandboxVm sandbox;
        using (await MachineGate.EnterAsync())
            sandbox = await vms.CreateAsync(Grains.Ids.SandboxId.New().ToString(), fixture.Image, new VmSize(1, 256), CancellationToken.None);
        try
        {
            await GuestConsole.QuoteOnFailureAsync(sandbox, async () =>
            {
                using var agent = sandbox.Agent();
                Assert.True(await agent.HasPtpClockAsync(CancellationToken.None), "the guest has no /dev/ptp0");
                var sources = await agent.ExecAsync("chronyc", ["-n", "sources"], CancellationToken.None);
                Assert.Contains("PHC0", sources.StdoutText);
            });
        }
        finally
        {
            await vms.DestroyAsync(sandbox, CancellationToken.None);
        }
    }
}

/// <summary>A fact that needs VMs under KVM (the ptp_kvm clock exists only there); skipped under TCG, naming why.</summary>
public sealed class KvmFactAttribute : FactAttribute
{
    public KvmFactAttribute()
    {
        const string probe = "/run/wrenn/qemu-accelerator";
        if (!File.Exists("/dev/kvm"))
            Skip = "No /dev/kvm on this machine: guests run under TCG and have no /dev/ptp0 (ptp_kvm needs KVM).";
        else if (File.Exists(probe) && File.ReadAllText(probe).Trim() == "tcg")
            Skip = "VMs run under TCG on this host (see /run/wrenn/qemu-accelerator): guests have no /dev/ptp0.";
    }
}
