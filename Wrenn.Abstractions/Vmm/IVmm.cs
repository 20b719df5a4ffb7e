using Wrenn.Abstractions.Memory;

namespace Wrenn.Abstractions.Vmm;

/// <summary>
/// A virtual machine monitor (QEMU, Firecracker …). One instance serves every VM on the host;
/// methods are called for one VM at a time, but for different VMs concurrently.
/// Every method that fails leaves nothing behind that it started itself.
/// </summary>
public interface IVmm
{
    /// <summary>The plugin's name, as in its manifest (<c>qemu</c>, <c>firecracker</c>).</summary>
    string Name { get; }

    /// <summary>What this VMM can do; the silo refuses operations it lacks.</summary>
    VmmCapabilities Capabilities { get; }

    /// <summary>Boots a VM and returns once its VMM process runs (not once the guest is ready).</summary>
    /// <exception cref="VmmException">The VMM refused the spec or died while starting; the message quotes its output.</exception>
    Task<VmHandle> BootAsync(VmSpec spec, CancellationToken cancellationToken);

    /// <summary>Stops the guest's vCPUs; its memory stays.</summary>
    Task PauseAsync(VmHandle vm, CancellationToken cancellationToken);

    /// <summary>Lets a paused guest's vCPUs run again.</summary>
    Task ResumeAsync(VmHandle vm, CancellationToken cancellationToken);

    /// <summary>
    /// Writes a snapshot of a paused VM into <paramref name="request"/>'s folder. The VM stays paused.
    /// </summary>
    Task<SnapshotFiles> SnapshotAsync(VmHandle vm, SnapshotRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Starts a new VMM process from a snapshot and returns once the guest runs.
    /// <paramref name="spec"/> carries the new disk, network slot and memory backing.
    /// </summary>
    Task<VmHandle> RestoreAsync(VmSpec spec, SnapshotFiles snapshot, CancellationToken cancellationToken);

    /// <summary>Ends the VMM process (politely, then by force) and removes its control files. Idempotent.</summary>
    Task StopAsync(VmHandle vm, CancellationToken cancellationToken);

    /// <summary>
    /// Takes over a VM that a previous silo process started. Returns the (possibly refreshed) handle,
    /// or null when that VM no longer runs.
    /// </summary>
    Task<VmHandle?> AdoptAsync(VmHandle vm, CancellationToken cancellationToken);

    /// <summary>Lists this VMM's processes on the host whose names carry <paramref name="ownerPrefix"/>.</summary>
    Task<IReadOnlyList<DiscoveredVm>> DiscoverAsync(string ownerPrefix, CancellationToken cancellationToken);

    /// <summary>
    /// Since 1.3: the host memory one idle VM costs beyond its guest RAM, in MiB, as measured (the VMM
    /// process and its helpers: heap, code, device buffers, under emulation the translation cache).
    /// The silo reserves a sandbox at its guest memory plus this, so that a host refuses a create
    /// before it runs out of memory. Plugins built against 1.2 report 0 (guest memory only).
    /// </summary>
    int HostOverheadMib => 0;
}

/// <summary>What a VMM supports.</summary>
/// <param name="Snapshots">Can pause to a snapshot and restore from one.</param>
/// <param name="DiffSnapshots">Can write only the pages dirtied since the last snapshot.</param>
/// <param name="MemoryBackings">The memory backings it accepts (see <see cref="MemoryBackingKind"/>).</param>
/// <param name="DiskFormats">The disk formats it can attach (<c>raw</c>, <c>qcow2</c>).</param>
public sealed record VmmCapabilities(
    bool Snapshots,
    bool DiffSnapshots,
    IReadOnlyList<MemoryBackingKind> MemoryBackings,
    IReadOnlyList<string> DiskFormats);

/// <summary>The VMM failed; <see cref="Exception.Message"/> says why, quoting the VMM and the guest console.</summary>
public class VmmException : Exception
{
    public VmmException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>The last lines of the guest console, if there were any.</summary>
    public string? ConsoleTail { get; init; }

    /// <summary>The last <paramref name="lines"/> lines of a console log, or "" when there is none.</summary>
    public static string TailOf(string consoleLogPath, int lines = 30)
    {
        try
        {
            return string.Join('\n', File.ReadLines(consoleLogPath).TakeLast(lines));
        }
        catch (IOException)
        {
            return "";
        }
    }
}
