using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Vmm;
using Wrenn.Plugins.Jail;
using Wrenn.Plugins.Network.Netns;
using Wrenn.Plugins.Vmm.Firecracker;
using Wrenn.Testing;

namespace Wrenn.Firecracker.Tests.Jail;

/// <summary>
/// Firecracker starts in its sandbox's jail, as QEMU does. No Firecracker binary can be had here, so
/// a STAND-IN program (firecracker_standin.c) takes its place: started by the plugin exactly as the
/// real binary would be, in a real netns slot, with the real guest kernel and a real disk file.
/// </summary>
public sealed class FirecrackerJailTests : IAsyncLifetime
{
    private readonly CancellationToken Ct = new CancellationTokenSource(TimeSpan.FromMinutes(3)).Token;
    private string _owner = "";
    private PluginHost _host = null!;
    private string _folder = "";

    public async Task InitializeAsync()
    {
        await HostSweep.RemoveLeftoversAsync();
        _owner = TestPrefix.NewOwner();
        _host = new PluginHost(_owner, $"/run/wrenn/{_owner}-data", $"/run/wrenn/{_owner}", "/run/wrenn", "/var/cache/wrenn");
        _folder = Directory.CreateDirectory(Path.Combine(_host.DataDir, "stand-in")).FullName;
    }

    public async Task DisposeAsync()
    {
        await Jails.ReleaseOrphansAsync(_host.MachineRuntimeDir, _owner, _ => false, NullLogger.Instance, CancellationToken.None);
        foreach (var dir in new[] { _host.DataDir, _host.RuntimeDir })
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
        TestPrefix.Retire(_owner);
    }

    [Fact]
    public async Task Firecracker_runs_unprivileged_in_its_own_root_with_its_devices_TAP_and_cgroup_and_its_snapshots_leave_the_jail()
    {
        var binary = await CompileStandInAsync();
        var network = new NetnsNetwork(Options.Create(new NetnsOptions()), _host, NullLogger<NetnsNetwork>.Instance);
        var vmm = new FirecrackerVmm(Options.Create(new FirecrackerOptions { Binary = binary }), _host, NullLogger<FirecrackerVmm>.Instance);
        using var gate = await MachineGate.EnterAsync();
        var sandboxId = $"sb-{Guid.NewGuid()}";
        var slot = await network.AllocateAsync(sandboxId, Ct);
        try
        {
            var disk = Path.Combine(_host.DataDir, "disk.raw");
            using (var file = File.Create(disk))
                file.SetLength(64L * 1024 * 1024);
            var image = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.ImageDir, "manifest.json"))).RootElement;
            var spec = new VmSpec(sandboxId, 1, 256,
                new KernelImage(image.GetProperty("kernel").GetString()!, image.GetProperty("initrd").GetString(), image.GetProperty("vmlinux").GetString()),
                new PreparedDisk(sandboxId, disk, "raw", true, new Dictionary<string, string>()), slot, null,
                GuestKernelArgs.ForNetwork(slot, "wrenn"), Path.Combine(_host.RuntimeDir, "vms", sandboxId));

            var vm = await vmm.BootAsync(spec, Ct);
            var jail = vmm.JailOf(vm);
            var pid = vm.Pid;
            var status = File.ReadAllLines($"/proc/{pid}/status").Select(l => l.Split(':', 2)).ToDictionary(p => p[0], p => p[1].Trim());
            Assert.True(jail.Jailed);
            Assert.Equal($"{jail.Uid}\t{jail.Uid}\t{jail.Uid}\t{jail.Uid}", status["Uid"]);
            Assert.Equal(("1", "0000000000000000", $"{pid}\t2"), (status["NoNewPrivs"], status["CapEff"], status["NSpid"]));
            // Firecracker's seccomp filters are its own and on by default: nothing turns them off.
            Assert.DoesNotContain("--no-seccomp", File.ReadAllText($"/proc/{pid}/cmdline").Split('\0'));

            var root = $"/proc/{pid}/root";
            Assert.False(File.Exists(root + "/etc/shadow"));
            Assert.Equal(["kvm", "net", "null", "urandom"], Directory.EnumerateFileSystemEntries(root + "/dev").Select(Path.GetFileName).Order());
            Assert.Equal(jail.Uid, Owner(root + "/dev/kvm"));
            Assert.Equal(jail.Uid, Owner(root + "/dev/net/tun"));
            Assert.Equal(0, Owner("/dev/kvm")); // the host's nodes are untouched
            Assert.True(File.Exists(root + spec.Kernel.UncompressedKernelPath) && File.Exists(root + disk));
            Assert.Equal(jail.Uid, Owner(disk));
            var tapOwner = await HostCommand.RunAsync("ip", ["netns", "exec", slot.Namespace, "cat", $"/sys/class/net/{slot.TapDevice}/owner"], Ct);
            Assert.Equal(jail.Uid.ToString(CultureInfo.InvariantCulture), tapOwner.Trim());
            Assert.Contains(pid, Wrenn.Plugins.Jail.Cgroups.CgroupProcesses.In(jail.Cgroups));
            Assert.Equal((256L + new FirecrackerOptions().MemoryOverheadMib) * 1024 * 1024,
                long.Parse(File.ReadAllText(Path.Combine(vmm.Jails.CgroupOf(jail, "memory")!, "memory.limit_in_bytes")), CultureInfo.InvariantCulture));

            // A snapshot is written inside the jail, then moved to where it was asked for, and is the silo's.
            var snapshots = Directory.CreateDirectory(Path.Combine(_host.DataDir, "snapshots", sandboxId)).FullName;
            await vmm.PauseAsync(vm, Ct);
            var snapshot = await vmm.SnapshotAsync(vm, new SnapshotRequest(snapshots, SnapshotKind.Full), Ct);
            Assert.Equal("stand-in snapshot\n", File.ReadAllText(snapshot.StateFile));
            Assert.Equal((0, 0), (Owner(snapshot.StateFile), Owner(snapshot.MemoryFiles[0])));

            Assert.Equal(["PUT /machine-config", "PUT /boot-source", "PUT /drives/rootfs", "PUT /network-interfaces/eth0", "PUT /actions", "PATCH /vm", "PUT /snapshot/create"],
                File.ReadAllLines(vm.ConsoleLogPath));

            await vmm.StopAsync(vm, Ct);
            Assert.All(jail.Cgroups, folder => Assert.False(Directory.Exists(folder)));
            Assert.Empty(vmm.Jails.OwnedBy(_owner));
            Assert.Equal(0, Owner(disk));
            Assert.Empty(await vmm.DiscoverAsync(_owner, Ct));
        }
        finally
        {
            await network.ReleaseAsync(slot, CancellationToken.None);
        }
    }

    private static int Owner(string path) =>
        int.Parse(HostCommand.RunAsync("stat", ["-L", "-c", "%u", path], CancellationToken.None).GetAwaiter().GetResult().Trim(), CultureInfo.InvariantCulture);

    /// <summary>Builds the stand-in, named as the real binary is (the plugin finds its processes by that name).</summary>
    private async Task<string> CompileStandInAsync()
    {
        var binary = Path.Combine(_folder, "firecracker");
        using var gcc = Process.Start(new ProcessStartInfo("gcc", ["-O2", "-o", binary,
            Path.Combine(RepoPaths.Root, "tests", "Wrenn.Firecracker.Tests", "Jail", "firecracker_standin.c")]) { RedirectStandardError = true })!;
        var errors = await gcc.StandardError.ReadToEndAsync();
        await gcc.WaitForExitAsync();
        Assert.True(gcc.ExitCode == 0, errors);
        return binary;
    }
}
