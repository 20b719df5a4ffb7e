using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Storage;

namespace Wrenn.Abstractions.Vmm;

/// <summary>Everything a VMM needs to boot or restore one sandbox's VM.</summary>
/// <param name="SandboxId">The sandbox's id in wire format (<c>sb-…</c>); VMMs use it to name their files.</param>
/// <param name="Vcpus">Virtual CPUs.</param>
/// <param name="MemoryMib">Guest RAM in MiB.</param>
/// <param name="Kernel">The guest kernel and initramfs.</param>
/// <param name="RootDisk">The sandbox's root disk, as the storage plugin prepared it.</param>
/// <param name="Network">The sandbox's network slot; the VMM process runs inside its namespace.</param>
/// <param name="Memory">Where guest RAM lives, as the memory plugin decided; null for anonymous memory.</param>
/// <param name="KernelArgs">
/// Extra kernel command-line arguments (network address, clock source …), appended after the
/// VMM's own. See <see cref="GuestKernelArgs"/>.
/// </param>
/// <param name="WorkDir">
/// A folder that belongs to this VM alone (console log, control sockets, pid file). The VMM
/// creates what it needs in it; the caller removes the folder after <see cref="IVmm.StopAsync"/>.
/// Keep it short: control sockets inside it must stay under 108 bytes.
/// </param>
public sealed record VmSpec(
    string SandboxId,
    int Vcpus,
    int MemoryMib,
    KernelImage Kernel,
    PreparedDisk RootDisk,
    NetworkSlot Network,
    MemoryBacking? Memory,
    IReadOnlyList<string> KernelArgs,
    string WorkDir);

/// <summary>A guest kernel and the initramfs that loads its drivers and switches to the root disk.</summary>
/// <param name="KernelPath">A bzImage for QEMU, an uncompressed vmlinux for Firecracker.</param>
/// <param name="InitrdPath">The initramfs, or null when the kernel needs none.</param>
/// <param name="UncompressedKernelPath">An uncompressed vmlinux of the same kernel, for VMMs that need one.</param>
public sealed record KernelImage(string KernelPath, string? InitrdPath, string? UncompressedKernelPath = null);

/// <summary>
/// A running VM as its VMM knows it. Serialisable and durable: the silo persists it, and after a
/// restart hands it back to <see cref="IVmm.AdoptAsync"/> to take the VM over again.
/// </summary>
/// <param name="SandboxId">The sandbox it belongs to.</param>
/// <param name="Vmm">The VMM plugin's name.</param>
/// <param name="Pid">The VMM process id.</param>
/// <param name="WorkDir">The VM's folder (see <see cref="VmSpec.WorkDir"/>).</param>
/// <param name="ConsoleLogPath">The guest console log, quoted in errors.</param>
/// <param name="Properties">The VMM's own facts (socket paths, process start time to detect pid reuse …).</param>
public sealed record VmHandle(
    string SandboxId,
    string Vmm,
    int Pid,
    string WorkDir,
    string ConsoleLogPath,
    IReadOnlyDictionary<string, string> Properties);

/// <summary>A VMM process found on the host that carries a silo's owner prefix; see <see cref="IVmm.DiscoverAsync"/>.</summary>
public sealed record DiscoveredVm(string SandboxId, int Pid, string WorkDir);
