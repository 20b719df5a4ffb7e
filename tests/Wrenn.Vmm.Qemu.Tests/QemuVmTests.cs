using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Vmm;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.V1;
using Wrenn.Silo.Sandboxes;

namespace Wrenn.Vmm.Qemu.Tests;

/// <summary>Real VMs under QEMU (TCG on this machine) running our guest image and agent.</summary>
public sealed class QemuVmTests(VmFixture fixture) : IClassFixture<VmFixture>
{
    private readonly CancellationToken Ct = new CancellationTokenSource(TimeSpan.FromMinutes(3)).Token;

    [Fact]
    public async Task A_booted_VM_runs_commands_and_files_through_its_agent_and_destroy_leaves_nothing()
    {
        var sandbox = await fixture.BootAsync();
        try
        {
            await GuestConsole.QuoteOnFailureAsync(sandbox, async () =>
            {
                using var agent = sandbox.Agent();
                var uname = await agent.ExecAsync("uname", ["-a"], Ct);
                Assert.Equal(0, uname.ExitCode);
                Assert.StartsWith("Linux wrenn ", uname.StdoutText);

                var failing = await agent.ExecAsync("sh", ["-c", "echo oops >&2; exit 3"], Ct);
                Assert.Equal(3, failing.ExitCode);
                Assert.Equal("oops\n", failing.StderrText);
                Assert.Equal("", failing.StdoutText);

                var content = "written from the host\n"u8.ToArray();
                await agent.WriteAllBytesAsync("/root/hello.txt", content, Ct);
                Assert.Equal(content, await agent.ReadAllBytesAsync("/root/hello.txt", Ct));
                var cat = await agent.ExecAsync("cat", ["/root/hello.txt"], Ct);
                Assert.Equal("written from the host\n", cat.StdoutText);

                // The clock call works in a real guest (it would change the host's clock on the host).
                var now = DateTimeOffset.UtcNow;
                var set = await agent.SetTimeAsync(now, Ct);
                Assert.InRange(set, now.AddSeconds(-1), now.AddSeconds(5));
            });
        }
        finally
        {
            await fixture.Vms.DestroyAsync(sandbox, CancellationToken.None);
        }
        await AssertNothingLeftAsync(sandbox);
    }

    [Fact]
    public async Task Two_VMs_run_side_by_side_and_cannot_reach_each_others_agent()
    {
        var first = await fixture.BootAsync();
        SandboxVm? second = null;
        try
        {
            second = await fixture.BootAsync();
            await GuestConsole.QuoteOnFailureAsync(first, async () =>
            {
                using var agent = first.Agent();
                using var other = second.Agent();
                Assert.Equal(0, (await other.ExecAsync("true", null, Ct)).ExitCode);
                var probe = await agent.ExecAsync("python3", ["-c",
                    "import socket\ns=socket.socket(); s.settimeout(3)\n" +
                    $"try:\n  s.connect(('{second.Network.HostAddress}', {AgentEndpoint.DefaultPort})); print('reached')\n" +
                    "except OSError:\n  print('unreachable')"], Ct);
                Assert.Equal("unreachable\n", probe.StdoutText);
            });
        }
        finally
        {
            await fixture.Vms.DestroyAsync(first, CancellationToken.None);
            if (second is not null)
                await fixture.Vms.DestroyAsync(second, CancellationToken.None);
        }
        await AssertNothingLeftAsync(first);
        await AssertNothingLeftAsync(second!);
    }

    [Fact]
    public async Task A_failed_boot_gives_a_clear_error_and_leaves_nothing_behind()
    {
        var broken = fixture.Image with { Kernel = fixture.Image.Kernel with { KernelPath = "/nonexistent/wt-vmlinuz" } };
        var sandboxId = Grains.Ids.SandboxId.New().ToString();
        var error = await Assert.ThrowsAsync<VmmException>(() =>
            fixture.Vms.CreateAsync(sandboxId, broken, new VmSize(1, 256), CancellationToken.None));
        Assert.Contains("/nonexistent/wt-vmlinuz", error.Message);
        Assert.Contains("does not exist", error.Message);
        await AssertNothingLeftAsync(sandboxId);
    }

    [Fact]
    public async Task A_VM_that_dies_while_booting_is_reported_with_its_console_and_cleaned_up()
    {
        // An empty root disk: the initramfs cannot mount it and powers the guest off.
        var sandboxId = Grains.Ids.SandboxId.New().ToString();
        var vms = new SandboxVms(new DyingVmm(fixture.Vmm), fixture.Storage, fixture.Network, fixture.Host,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<SandboxVms>.Instance);
        using (await Testing.MachineGate.EnterAsync())
        {
            var error = await Assert.ThrowsAsync<VmmException>(() =>
                vms.CreateAsync(sandboxId, fixture.Image, new VmSize(1, 256), CancellationToken.None));
            Assert.Contains("exited while booting", error.Message);
            Assert.False(string.IsNullOrWhiteSpace(error.ConsoleTail), "the error should quote the guest console");
        }
        await AssertNothingLeftAsync(sandboxId);
    }

    /// <summary>Boots with a broken root device, so the guest powers off from its initramfs.</summary>
    private sealed class DyingVmm(IVmm inner) : IVmm
    {
        public string Name => inner.Name;
        public VmmCapabilities Capabilities => inner.Capabilities;
        public Task<VmHandle> BootAsync(VmSpec spec, CancellationToken ct) =>
            inner.BootAsync(spec with { RootDisk = spec.RootDisk with { Path = "/dev/null", Format = "raw" } }, ct);
        public Task PauseAsync(VmHandle vm, CancellationToken ct) => inner.PauseAsync(vm, ct);
        public Task ResumeAsync(VmHandle vm, CancellationToken ct) => inner.ResumeAsync(vm, ct);
        public Task<SnapshotFiles> SnapshotAsync(VmHandle vm, SnapshotRequest r, CancellationToken ct) => inner.SnapshotAsync(vm, r, ct);
        public Task<VmHandle> RestoreAsync(VmSpec spec, SnapshotFiles s, CancellationToken ct) => inner.RestoreAsync(spec, s, ct);
        public Task StopAsync(VmHandle vm, CancellationToken ct) => inner.StopAsync(vm, ct);
        public Task<VmHandle?> AdoptAsync(VmHandle vm, CancellationToken ct) => inner.AdoptAsync(vm, ct);
        public Task<IReadOnlyList<DiscoveredVm>> DiscoverAsync(string owner, CancellationToken ct) => inner.DiscoverAsync(owner, ct);
    }

    private Task AssertNothingLeftAsync(SandboxVm sandbox) => AssertNothingLeftAsync(sandbox.SandboxId);

    private async Task AssertNothingLeftAsync(string sandboxId)
    {
        Assert.DoesNotContain(await fixture.Vmm.DiscoverAsync(fixture.Owner, CancellationToken.None), v => v.SandboxId == sandboxId);
        Assert.DoesNotContain(await fixture.Network.DiscoverAsync(fixture.Owner, CancellationToken.None), s => s.SandboxId == sandboxId);
        Assert.DoesNotContain(await fixture.Storage.DiscoverAsync(fixture.Owner, CancellationToken.None), d => d.SandboxId == sandboxId);
        Assert.False(Directory.Exists(fixture.Vms.WorkDirFor(sandboxId)), "the VM's work folder is left");
        var namespaces = await HostCommand.RunAsync("ip", ["netns", "list"], CancellationToken.None);
        Assert.DoesNotContain(fixture.Owner + "-", namespaces);
    }
}
