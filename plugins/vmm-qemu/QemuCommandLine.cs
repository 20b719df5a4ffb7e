using System.Globalization;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Plugins.Vmm.Qemu;

/// <summary>How one QEMU is to run, beside its <see cref="VmSpec"/>.</summary>
/// <param name="Owner">The owner prefix, carried in <c>-name</c> (discovery and re-adoption read it).</param>
/// <param name="Accelerator"><c>kvm</c> or <c>tcg</c>.</param>
/// <param name="Jailed">Whether QEMU runs jailed: then with its own seccomp filter too.</param>
/// <param name="TcgTranslationCacheMib">The translation cache size under TCG.</param>
/// <param name="MemoryFile">The file guest RAM maps (the spec's, or a private copy of it), if any.</param>
/// <param name="ReadOnlyPrivateMemory">Map <paramref name="MemoryFile"/> read-only and copy-on-write (<c>readonly=on,rom=off</c>).</param>
/// <param name="ConsoleLog">The guest console's file.</param>
/// <param name="QmpSocket">The QMP socket.</param>
/// <param name="TapFd">The descriptor the TAP device is handed over as.</param>
/// <param name="TscKhz">The host's TSC frequency, for TCG guests.</param>
/// <param name="Incoming">Whether QEMU waits for a saved state (a restore).</param>
/// <param name="RamFromStream">Guest RAM is anonymous memory, filled from the incoming stream (which carries all of it), though the spec names a private file.</param>
public sealed record QemuRun(
    string Owner,
    string Accelerator,
    bool Jailed,
    int TcgTranslationCacheMib,
    string? MemoryFile,
    bool ReadOnlyPrivateMemory,
    string ConsoleLog,
    string QmpSocket,
    int TapFd,
    long? TscKhz,
    bool Incoming,
    bool RamFromStream = false);

/// <summary>The QEMU <c>microvm</c> command line for a VM: virtio-mmio disk and network, console to a file, QMP on a socket.</summary>
public static class QemuCommandLine
{
    /// <summary>
    /// QEMU's own seccomp filter: obsolete system calls, privilege changes, spawning processes and
    /// changing scheduling or resource limits are denied (the jail dropped privileges already).
    /// </summary>
    public const string Sandbox = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

    public static List<string> For(VmSpec spec, QemuRun run)
    {
        var kernelArgs = new List<string> { "console=ttyS0", "quiet", "panic=-1", "root=/dev/vda", "rw" };
        if (run.Accelerator == "tcg" && run.TscKhz is { } khz)
            kernelArgs.Add($"tsc_early_khz={khz}"); // without it, TCG boots hang now and then calibrating the TSC
        kernelArgs.AddRange(spec.KernelArgs);

        var machine = "microvm,acpi=on";
        var args = new List<string>
        {
            "-name", $"wrenn:{run.Owner}:{spec.SandboxId},debug-threads=off",
            "-accel", run.Accelerator == "tcg" ? $"tcg,tb-size={run.TcgTranslationCacheMib.ToString(CultureInfo.InvariantCulture)}" : "kvm",
            "-cpu", run.Accelerator == "kvm" ? "host" : "max",
            "-smp", spec.Vcpus.ToString(CultureInfo.InvariantCulture),
            "-m", $"{spec.MemoryMib}M",
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-serial", $"file:{run.ConsoleLog}",
            "-kernel", spec.Kernel.KernelPath,
            "-append", string.Join(' ', kernelArgs),
            "-drive", $"id=root,file={spec.RootDisk.Path},format={spec.RootDisk.Format},if=none,discard=unmap",
            "-device", "virtio-blk-device,drive=root",
            "-netdev", $"tap,id=net0,fd={run.TapFd.ToString(CultureInfo.InvariantCulture)}",
            "-device", $"virtio-net-device,netdev=net0,mac={spec.Network.Guest.MacAddress}",
            "-qmp", $"unix:{run.QmpSocket},server=on,wait=off",
        };
        if (run.Jailed)
            args.AddRange(["-sandbox", Sandbox]);
        if (spec.Kernel.InitrdPath is { } initrd)
            args.AddRange(["-initrd", initrd]);
        if (run.RamFromStream)
        {
            // The same backend id as a file's, so the stream's RAM block ("mem") finds its place.
            args.AddRange(["-object", $"memory-backend-ram,id=mem,size={spec.MemoryMib}M"]);
            machine += ",memory-backend=mem";
        }
        else if (spec.Memory is { Kind: MemoryBackingKind.File } memory && run.MemoryFile is { } file)
        {
            var mapping = memory.Shared ? "share=on" : run.ReadOnlyPrivateMemory ? "share=off,readonly=on,rom=off" : "share=off";
            args.AddRange(["-object", $"memory-backend-file,id=mem,size={spec.MemoryMib}M,mem-path={file},{mapping}"]);
            machine += ",memory-backend=mem";
        }
        args.AddRange(["-M", machine]);
        if (run.Incoming)
            args.AddRange(["-incoming", "defer"]);
        return args;
    }

    /// <summary>The QMP socket a QEMU command line names (discovery finds a VM's work folder by it).</summary>
    public static string? QmpSocketOf(IReadOnlyList<string> args)
    {
        var at = args.ToList().IndexOf("-qmp");
        return at >= 0 && at + 1 < args.Count && args[at + 1].StartsWith("unix:", StringComparison.Ordinal)
            ? args[at + 1]["unix:".Length..].Split(',')[0]
            : null;
    }
}
