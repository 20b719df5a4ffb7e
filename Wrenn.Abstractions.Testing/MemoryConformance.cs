using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Vmm;
using Xunit;

namespace Wrenn.Abstractions.Testing;

/// <summary>
/// Checks an <see cref="IMemoryBackend"/> against what the silo relies on: a boot's backing is freed
/// without a trace; a pause's snapshot memory outlives the VM's work folder (the silo removes it once
/// the VM is stopped) and a resume maps it again. The VMM is a STAND-IN that writes guest RAM into a
/// File backing as a VMM's mapping would; plugins with other backings (a page server) are checked
/// with their VMM in <see cref="VmmConformance"/> and skip the snapshot fact by name.
/// </summary>
public abstract class MemoryConformance : KitTest
{
    private const int MemoryMib = 16;

    protected abstract IMemoryBackend CreateMemory(PluginHost host);

    protected IMemoryBackend Memory { get; private set; } = null!;

    private protected override void CreatePlugin() => Memory = CreateMemory(Kit.Host);


    private string WorkDir(string sandboxId) => Directory.CreateDirectory(Path.Combine(Kit.Host.RuntimeDir, "vms", sandboxId)).FullName;

    [ConformanceFact]
    public async Task A_boot_backing_is_freed_without_a_trace_and_release_may_be_repeated()
    {
        var sandboxId = KitHost.NewSandboxId();
        var workDir = WorkDir(sandboxId);
        var backing = await Memory.PrepareBootAsync(sandboxId, MemoryMib, workDir, CancellationToken.None);
        if (backing.Kind == MemoryBackingKind.File)
            Assert.True(File.Exists(backing.Path) && new FileInfo(backing.Path!).Length >= MemoryMib * 1024L * 1024, $"a File backing must be a file of the guest's size ({backing.Path})");

        await Memory.ReleaseAsync(backing, CancellationToken.None);
        await Memory.ReleaseAsync(backing, CancellationToken.None);
        Directory.Delete(workDir, recursive: true); // as the silo does after the VM stopped

        Assert.Empty(await Kit.LeftoversAsync());
    }

    [ConformanceFact]
    public async Task A_snapshots_memory_outlives_the_work_folder_and_a_restore_maps_it_again()
    {
        var sandboxId = KitHost.NewSandboxId();
        var workDir = WorkDir(sandboxId);
        var backing = await Memory.PrepareBootAsync(sandboxId, MemoryMib, workDir, CancellationToken.None);
        Assert.True(backing.Kind == MemoryBackingKind.File, $"this fact drives File backings through a stand-in VMM; a {backing.Kind} plugin skips it by name and is checked with its VMM");
        await using (var ram = new FileStream(backing.Path!, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            ram.Position = 3 * 1024 * 1024;
            await ram.WriteAsync(Enumerable.Repeat((byte)0x6B, 4096).ToArray()); // the guest's page, through the VMM's mapping
        }
        var snapshotDir = Directory.CreateDirectory(Path.Combine(Kit.Host.DataDir, "snapshots", sandboxId)).FullName;
        var state = Path.Combine(snapshotDir, "vmstate");
        await File.WriteAllTextAsync(state, "device state"); // what the VMM writes
        var written = new SnapshotFiles(snapshotDir, state, [], SnapshotKind.Full, MemoryMib, 1, new Dictionary<string, string>());

        var snapshot = await Memory.CompleteSnapshotAsync(backing, written, CancellationToken.None);
        Directory.Delete(workDir, recursive: true); // the VM is stopped and its folder removed
        var restored = await Memory.PrepareRestoreAsync(sandboxId, snapshot, WorkDir(sandboxId), CancellationToken.None);

        Assert.NotEmpty(snapshot.MemoryFiles);
        Assert.All(snapshot.MemoryFiles, f => Assert.True(File.Exists(f) && !f.StartsWith(workDir, StringComparison.Ordinal), $"snapshot memory {f} is gone or lives in the work folder"));
        Assert.Equal(MemoryBackingKind.File, restored.Kind);
        Assert.True(await DiskContent.RawHoldsAsync(restored.Path!, 0x6B, 3 * 1024 * 1024, 4096), "the restored backing lacks the guest's page");
        await Memory.ReleaseAsync(restored, CancellationToken.None);
    }
}
