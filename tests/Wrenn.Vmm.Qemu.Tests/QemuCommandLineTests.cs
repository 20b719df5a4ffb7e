using System.Net;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Vmm;
using Wrenn.Plugins.Vmm.Qemu;
using Wrenn.Testing;

namespace Wrenn.Vmm.Qemu.Tests;

/// <summary>The QEMU command line and the disk chain a jail is built from (no VM started).</summary>
public sealed class QemuCommandLineTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory($"{TestPrefix.Family}-qemu-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static VmSpec Spec(MemoryBacking? memory) => new(
        "sb-00000000-0000-0000-0000-000000000001", 2, 512,
        new KernelImage("/img/vmlinuz", "/img/initrd.img"),
        new PreparedDisk("sb-1", "/data/disk.qcow2", "qcow2", true, new Dictionary<string, string>()),
        new NetworkSlot(3, "sb-1", "wt-3", "tap0", IPAddress.Parse("10.200.0.14"),
            new GuestNetwork(IPAddress.Parse("169.254.0.21"), 30, IPAddress.Parse("169.254.0.22"), "06:00:a9:fe:00:15", null), new Dictionary<string, string>()),
        memory, ["wrenn.ip=169.254.0.21/30"], "/run/wrenn/wtab12/vms/sb-1");

    private static QemuRun Run(bool jailed, string? memoryFile = null, bool readOnlyPrivate = false, string accelerator = "tcg") =>
        new("wtab12", accelerator, jailed, 64, memoryFile, readOnlyPrivate, "/w/console.log", "/w/qmp.sock", 3, 2596000, Incoming: false);

    private static string After(List<string> args, string option) => args[args.IndexOf(option) + 1];

    [Fact]
    public void A_jailed_QEMU_gets_its_seccomp_filter_a_fixed_translation_cache_the_TAP_by_descriptor_and_keeps_its_name()
    {
        var args = QemuCommandLine.For(Spec(null), Run(jailed: true));
        Assert.Equal("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny", After(args, "-sandbox"));
        Assert.Equal("tcg,tb-size=64", After(args, "-accel"));
        Assert.Equal("tap,id=net0,fd=3", After(args, "-netdev"));
        Assert.Equal("wrenn:wtab12:sb-00000000-0000-0000-0000-000000000001,debug-threads=off", After(args, "-name"));
        Assert.DoesNotContain("-daemonize", args); // the jail's init keeps it as its child
        Assert.DoesNotContain("-runas", args);     // with elevateprivileges=deny QEMU 7.2 dies of SIGSYS; the jail drops ids before exec
        Assert.DoesNotContain(args, a => a.StartsWith("exec:", StringComparison.Ordinal));
        Assert.Equal("/w/qmp.sock", QemuCommandLine.QmpSocketOf(args));

        Assert.DoesNotContain("-sandbox", QemuCommandLine.For(Spec(null), Run(jailed: false)));
        Assert.Equal("kvm", After(QemuCommandLine.For(Spec(null), Run(jailed: true, accelerator: "kvm")), "-accel"));
    }

    [Fact]
    public void Guest_memory_maps_its_own_file_shared_and_a_templates_file_private_and_read_only_where_QEMU_can()
    {
        var own = new MemoryBacking(MemoryBackingKind.File, "/data/memory/wtab12-sb-1.ram", true, new Dictionary<string, string>());
        Assert.Equal("memory-backend-file,id=mem,size=512M,mem-path=/data/memory/wtab12-sb-1.ram,share=on",
            After(QemuCommandLine.For(Spec(own), Run(true, own.Path)), "-object"));

        var template = own with { Path = "/data/templates/tpl/memory.ram", Shared = false };
        Assert.Equal("memory-backend-file,id=mem,size=512M,mem-path=/data/templates/tpl/memory.ram,share=off,readonly=on,rom=off",
            After(QemuCommandLine.For(Spec(template), Run(true, template.Path, readOnlyPrivate: true)), "-object"));
        // QEMU 7.2: a private copy in the VM's folder, which it may open read-write.
        Assert.Equal("memory-backend-file,id=mem,size=512M,mem-path=/w/memory.private,share=off",
            After(QemuCommandLine.For(Spec(template), Run(true, "/w/memory.private")), "-object"));
        Assert.Contains("memory-backend=mem", After(QemuCommandLine.For(Spec(own), Run(true, own.Path)), "-M"));

        // A child's own snapshot carries all of its RAM: anonymous memory under the same backend id, no file.
        var fromStream = QemuCommandLine.For(Spec(template), Run(true, memoryFile: null) with { Incoming = true, RamFromStream = true });
        Assert.Equal("memory-backend-ram,id=mem,size=512M", After(fromStream, "-object"));
        Assert.Contains("memory-backend=mem", After(fromStream, "-M"));
        Assert.DoesNotContain(fromStream, a => a.Contains("mem-path", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_disk_chain_lists_every_backing_file_under_an_overlay_from_the_qcow2_headers()
    {
        var raw = Path.Combine(_folder, "base.ext4");
        await File.WriteAllBytesAsync(raw, new byte[1024 * 1024]);
        var middle = Path.Combine(_folder, "frozen.qcow2");
        var top = Path.Combine(_folder, "sandbox.qcow2");
        await HostCommand.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", raw, "-F", "raw", middle], CancellationToken.None);
        await HostCommand.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", "frozen.qcow2", "-F", "qcow2", top], CancellationToken.None); // relative, as qemu-img allows

        Assert.Equal([middle, raw], DiskChain.BackingFiles(top, "qcow2"));
        Assert.Empty(DiskChain.BackingFiles(raw, "raw"));
        Assert.Equal(1024 * 1024, DiskChain.VirtualSize(top, "qcow2"));
    }
}
