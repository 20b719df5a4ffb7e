using System.Net;
using System.Text.Json.Nodes;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Vmm;
using Wrenn.Plugins.Vmm.Firecracker;
using Wrenn.Testing;

namespace Wrenn.Firecracker.Tests.Api;

/// <summary>
/// The vmm-firecracker plugin against Firecracker's published API, through a STAND-IN server that
/// checks every request against the swagger file (Firecracker itself cannot be installed here).
/// The swagger file is Firecracker's, not the project's: without WRENN_FIRECRACKER_SWAGGER naming it
/// these tests are skipped, naming the variable.
/// </summary>
public sealed class FirecrackerApiTests : IAsyncLifetime
{
    private readonly string _socket = $"/run/wrenn/{TestPrefix.Family}fc-{Guid.NewGuid():N}"[..40] + ".sock";
    private SwaggerContract _contract = null!;
    private FirecrackerStandIn _firecracker = null!;

    public async Task InitializeAsync()
    {
        _contract = SwaggerContract.Load(SwaggerContract.Locate()!);
        _firecracker = await FirecrackerStandIn.StartAsync(_contract, _socket);
    }

    public async Task DisposeAsync() => await _firecracker.DisposeAsync();

    private static VmSpec Spec() => new(
        "sb-00000000-0000-0000-0000-000000000001", 2, 512,
        new KernelImage("/img/vmlinuz", "/img/initrd.img", "/img/vmlinux"),
        new PreparedDisk("sb-1", "/data/disk.raw", "raw", true, new Dictionary<string, string>()),
        new NetworkSlot(3, "sb-1", "wt-ns3", "tap0", IPAddress.Parse("10.200.0.14"),
            new GuestNetwork(IPAddress.Parse("169.254.0.21"), 30, IPAddress.Parse("169.254.0.22"), "06:00:ac:10:00:02", null), new Dictionary<string, string>()),
        null, ["wrenn.ip=169.254.0.21"], "/run/wrenn/x");

    private IReadOnlyList<string> Calls() => _firecracker.Received.Select(r => $"{r.Method} {r.Path}").ToList();

    [SwaggerFact]
    public async Task The_stand_in_refuses_requests_that_break_the_published_API()
    {
        using var api = new FirecrackerApiClient(_socket);
        var unknown = await Assert.ThrowsAsync<VmmException>(() => api.PutAsync("/machine-config", new JsonObject { ["vcpu_count"] = 1, ["mem_size_mib"] = 128, ["turbo"] = true }, default));
        Assert.Contains("unknown property turbo", unknown.Message);
        var missing = await Assert.ThrowsAsync<VmmException>(() => api.PutAsync("/boot-source", new JsonObject { ["boot_args"] = "x" }, default));
        Assert.Contains("lacks the required property kernel_image_path", missing.Message);
        var badEnum = await Assert.ThrowsAsync<VmmException>(() => api.PatchAsync("/vm", new JsonObject { ["state"] = "Sleeping" }, default));
        Assert.Contains("not one of Paused, Resumed", badEnum.Message);
        var badType = await Assert.ThrowsAsync<VmmException>(() => api.PutAsync("/machine-config", new JsonObject { ["vcpu_count"] = "two", ["mem_size_mib"] = 128 }, default));
        Assert.Contains("vcpu_count must be an integer", badType.Message);
        var badMethod = await Assert.ThrowsAsync<VmmException>(() => api.PatchAsync("/boot-source", new JsonObject(), default));
        Assert.Contains("PATCH is not allowed on /boot-source", badMethod.Message);
        var nested = await Assert.ThrowsAsync<VmmException>(() => api.PutAsync("/snapshot/load", new JsonObject
        {
            ["snapshot_path"] = "/s", ["mem_backend"] = new JsonObject { ["backend_type"] = "Tape", ["backend_path"] = "/m" },
        }, default));
        Assert.Contains("body.mem_backend.backend_type is 'Tape'", nested.Message);
    }

    [SwaggerFact]
    public async Task A_boot_configures_machine_kernel_disk_and_network_then_starts_and_every_call_follows_the_API()
    {
        using var api = new FirecrackerApiClient(_socket);
        await new FirecrackerMachine(api).BootAsync(Spec(), default);

        Assert.Equal(["PUT /machine-config", "PUT /boot-source", "PUT /drives/rootfs", "PUT /network-interfaces/eth0", "PUT /actions"], Calls());
        var received = _firecracker.Received;
        Assert.Equal("/img/vmlinux", received[1].Body!["kernel_image_path"]!.GetValue<string>()); // the uncompressed kernel
        Assert.True(received[0].Body!["track_dirty_pages"]!.GetValue<bool>());                   // so that diffs can be taken
        Assert.Equal("tap0", received[3].Body!["host_dev_name"]!.GetValue<string>());
        Assert.Equal("InstanceStart", received[4].Body!["action_type"]!.GetValue<string>());
    }

    [SwaggerFact]
    public async Task Pause_diff_snapshot_resume_and_a_uffd_restore_use_the_APIs_calls_in_order()
    {
        using var api = new FirecrackerApiClient(_socket);
        var machine = new FirecrackerMachine(api);
        await machine.PauseAsync(default);
        await machine.SnapshotAsync("/snap/vmstate", "/snap/memory-diff-1", SnapshotKind.Diff, default);
        await machine.ResumeAsync(default);
        await machine.LoadAsync("/snap/vmstate", new MemoryBacking(MemoryBackingKind.Uffd, "/run/wrenn/uffd.sock", false, new Dictionary<string, string>()), default);

        Assert.Equal(["PATCH /vm", "PUT /snapshot/create", "PATCH /vm", "PUT /snapshot/load"], Calls());
        var received = _firecracker.Received;
        Assert.Equal(("Paused", "Diff", "Resumed"), (received[0].Body!["state"]!.GetValue<string>(), received[1].Body!["snapshot_type"]!.GetValue<string>(), received[2].Body!["state"]!.GetValue<string>()));
        Assert.Equal("Uffd", received[3].Body!["mem_backend"]!["backend_type"]!.GetValue<string>());
        Assert.True(received[3].Body!["track_dirty_pages"]!.GetValue<bool>() && received[3].Body!["resume_vm"]!.GetValue<bool>());
    }

    [SwaggerFact]
    public async Task A_refusal_reaches_the_caller_with_Firecrackers_own_fault_message()
    {
        _firecracker.Faults["/actions"] = "Cannot start microvm that was already started";
        using var api = new FirecrackerApiClient(_socket);

        var error = await Assert.ThrowsAsync<VmmException>(() => new FirecrackerMachine(api).BootAsync(Spec(), default));

        Assert.Contains("refused PUT /actions (400): Cannot start microvm that was already started", error.Message);
    }
}

/// <summary>The same calls against a real Firecracker, where there is one (WRENN_FIRECRACKER_BIN or PATH, and /dev/kvm).</summary>
public sealed class FirecrackerBinaryTests
{
    private readonly string _socket = $"/run/wrenn/{TestPrefix.Family}fcb-{Guid.NewGuid():N}"[..40] + ".sock";

    [FirecrackerFact]
    public async Task A_real_Firecracker_accepts_the_same_pre_boot_calls_for_our_guest_kernel()
    {
        // Where a firecracker binary and KVM exist (WRENN_FIRECRACKER_BIN or PATH) the calls the stand-in
        // checked go to the real thing; here this is reported as skipped, naming what is missing.
        var socket = _socket;
        using var firecracker = System.Diagnostics.Process.Start(new FirecrackerOptions().ResolveBinary()!, ["--api-sock", socket]);
        try
        {
            for (var i = 0; i < 100 && !File.Exists(socket); i++)
                await Task.Delay(50);
            using var api = new FirecrackerApiClient(socket);
            var vmlinux = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.ImageDir, "manifest.json"))).RootElement.GetProperty("vmlinux").GetString()!;
            await api.PutAsync("/machine-config", new JsonObject { ["vcpu_count"] = 1, ["mem_size_mib"] = 256, ["track_dirty_pages"] = true }, default);
            await api.PutAsync("/boot-source", new JsonObject { ["kernel_image_path"] = vmlinux, ["boot_args"] = "console=ttyS0" }, default);
            Assert.Equal("Not started", (await api.GetAsync("/", default))!["state"]!.GetValue<string>());
        }
        finally
        {
            firecracker.Kill();
            File.Delete(socket);
        }
    }
}

/// <summary>A fact that needs Firecracker's published swagger file; skipped, naming the variable, without it.</summary>
public sealed class SwaggerFactAttribute : FactAttribute
{
    public SwaggerFactAttribute()
    {
        if (SwaggerContract.Locate() is null)
            Skip = $"Firecracker's swagger file is not part of this project: set {SwaggerContract.Variable} to its path (.ci/run does when ../shared/firecracker/firecracker.yaml is at hand).";
    }
}

/// <summary>A fact that needs a Firecracker binary and /dev/kvm; skipped, naming what is missing, where they are absent.</summary>
public sealed class FirecrackerFactAttribute : FactAttribute
{
    public FirecrackerFactAttribute()
    {
        if (new FirecrackerOptions().ResolveBinary() is null)
            Skip = "No firecracker binary on this machine (none can be installed here; set WRENN_FIRECRACKER_BIN where one exists).";
        else if (!File.Exists("/dev/kvm"))
            Skip = "Firecracker needs /dev/kvm, which this machine lacks.";
    }
}
