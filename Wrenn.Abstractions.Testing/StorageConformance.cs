using System.Text;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;
using Xunit;

namespace Wrenn.Abstractions.Testing;

/// <summary>
/// Checks an <see cref="IStorage"/> against what the silo relies on: create prepares a disk over a
/// shared base; pause detaches it and resume attaches it again with its data; a template freezes it
/// into a base of its own; destroy releases it; the reconciler finds disks by owner prefix; and a
/// failure leaves nothing behind. Derive, implement <see cref="CreateStorage"/>, and run as root.
/// </summary>
public abstract class StorageConformance : KitTest
{
    private const long BaseBytes = 8 * 1024 * 1024;
    private const byte BasePattern = 0x5A;

    /// <summary>The plugin under test, given the kit's host (its own owner prefix and folders).</summary>
    protected abstract IStorage CreateStorage(PluginHost host);

    protected IStorage Storage { get; private set; } = null!;

    /// <summary>Writes a pattern into the disk as the guest would; override for formats other than raw and qcow2.</summary>
    protected virtual Task WriteAsync(PreparedDisk disk, byte pattern, long offset, int length) => DiskContent.WriteAsync(disk, pattern, offset, length);

    /// <summary>Whether the disk holds the pattern there, as the guest would read it.</summary>
    protected virtual Task<bool> HoldsAsync(PreparedDisk disk, byte pattern, long offset, int length) => DiskContent.HoldsAsync(disk, pattern, offset, length);

    private protected override void CreatePlugin() => Storage = CreateStorage(Kit.Host);

    private protected override async Task CleanUpAsync()
    {
        foreach (var disk in await Storage.DiscoverAsync(Kit.Host.OwnerPrefix, CancellationToken.None))
            await Storage.ReleaseAsync(disk, CancellationToken.None);
    }


    private async Task<BaseImage> BaseAsync(string name = "base.img") =>
        new($"base-{Path.GetFileNameWithoutExtension(name)}", await DiskContent.MakeBaseImageAsync(Path.Combine(Kit.Scratch, name), BasePattern, BaseBytes), "raw", BaseBytes);

    [ConformanceFact]
    public async Task Each_sandbox_gets_its_own_writable_disk_over_a_base_that_never_changes()
    {
        var image = await BaseAsync();
        var baseBefore = await File.ReadAllBytesAsync(image.Path);
        var one = await Storage.PrepareAsync(KitHost.NewSandboxId(), image, CancellationToken.None);
        var two = await Storage.PrepareAsync(KitHost.NewSandboxId(), image, CancellationToken.None);

        Assert.True(one.Attached && two.Attached, "a prepared disk must be attached");
        Assert.NotEqual(one.Path, two.Path);
        Assert.True(await HoldsAsync(one, BasePattern, 0, 64 * 1024), "a new disk must read as its base");
        await WriteAsync(one, 0x11, 0, 64 * 1024);
        Assert.True(await HoldsAsync(one, 0x11, 0, 64 * 1024), "a disk must keep what its sandbox wrote");
        Assert.True(await HoldsAsync(two, BasePattern, 0, 64 * 1024), "one sandbox's write showed in another's disk");
        Assert.Equal(baseBefore, await File.ReadAllBytesAsync(image.Path));
        var found = await Storage.DiscoverAsync(Kit.Host.OwnerPrefix, CancellationToken.None);
        Assert.Equal(new[] { one.SandboxId, two.SandboxId }.Order(), found.Select(d => d.SandboxId).Order());
    }

    [ConformanceFact]
    public async Task A_detached_disk_keeps_its_data_and_attaches_again()
    {
        var disk = await Storage.PrepareAsync(KitHost.NewSandboxId(), await BaseAsync(), CancellationToken.None);
        await WriteAsync(disk, 0x22, 128 * 1024, 64 * 1024);

        await Storage.DetachAsync(disk, CancellationToken.None);
        var attached = await Storage.AttachAsync(disk with { Attached = false }, CancellationToken.None);

        Assert.True(attached.Attached);
        Assert.True(await HoldsAsync(attached, 0x22, 128 * 1024, 64 * 1024), "a detached disk lost its data");
        Assert.True(await HoldsAsync(attached, BasePattern, 0, 64 * 1024));
    }

    [ConformanceFact]
    public async Task Release_leaves_nothing_behind_and_may_be_repeated()
    {
        var image = await BaseAsync();
        var attached = await Storage.PrepareAsync(KitHost.NewSandboxId(), image, CancellationToken.None);
        var detached = await Storage.PrepareAsync(KitHost.NewSandboxId(), image, CancellationToken.None);
        await Storage.DetachAsync(detached, CancellationToken.None);

        await Storage.ReleaseAsync(attached, CancellationToken.None);
        await Storage.ReleaseAsync(detached with { Attached = false }, CancellationToken.None);
        await Storage.ReleaseAsync(attached, CancellationToken.None); // destroy may run again after a crash

        Assert.Empty(await Storage.DiscoverAsync(Kit.Host.OwnerPrefix, CancellationToken.None));
        Assert.Empty(await Kit.LeftoversAsync());
    }

    [ConformanceFact]
    public async Task A_prepare_over_a_missing_base_image_fails_naming_it_and_leaves_nothing()
    {
        var missing = new BaseImage("base-gone", Path.Combine(Kit.Scratch, "gone.img"), "raw", BaseBytes);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => Storage.PrepareAsync(KitHost.NewSandboxId(), missing, CancellationToken.None));

        Assert.Contains(missing.Path, error.Message);
        Assert.Empty(await Storage.DiscoverAsync(Kit.Host.OwnerPrefix, CancellationToken.None));
        Assert.Empty(await Kit.LeftoversAsync());
    }

    [ConformanceFact]
    public async Task A_prepare_that_runs_out_of_space_midway_undoes_itself()
    {
        // The plugin's data folder holds 64 KiB, less than any disk over an 8 MiB base with 1 MiB of data needs.
        var cramped = Kit.Host with { DataDir = Path.Combine(Kit.Root, "full") };
        var image = await BaseAsync();
        await using (await Kit.TinyFolderAsync(cramped.DataDir, 64 * 1024))
        {
            var storage = CreateStorage(cramped);
            await Assert.ThrowsAnyAsync<Exception>(() => storage.PrepareAsync(KitHost.NewSandboxId(), image, CancellationToken.None));

            Assert.Empty(await storage.DiscoverAsync(cramped.OwnerPrefix, CancellationToken.None));
            Assert.Empty(await Kit.LeftoversAsync(cramped));
        }
    }

    [ConformanceFact]
    public async Task Names_fit_the_hosts_limits_with_a_full_sandbox_id_and_discovery_gives_the_id_back()
    {
        var sandboxId = KitHost.NewSandboxId();
        var disk = await Storage.PrepareAsync(sandboxId, await BaseAsync(), CancellationToken.None);

        Assert.True(Encoding.UTF8.GetByteCount(disk.Path) < 4096, $"{disk.Path} is longer than a path may be");
        foreach (var file in Kit.PluginFiles().Append(disk.Path))
            Assert.True(Encoding.UTF8.GetByteCount(Path.GetFileName(file)) <= 255, $"{file}: a file name longer than 255 bytes");
        if (disk.Path.StartsWith("/dev/mapper/", StringComparison.Ordinal))
            Assert.True(Path.GetFileName(disk.Path).Length <= 127, $"{disk.Path}: a device-mapper name longer than 127 characters");
        Assert.Equal(sandboxId, Assert.Single(await Storage.DiscoverAsync(Kit.Host.OwnerPrefix, CancellationToken.None)).SandboxId);
    }

    [ConformanceFact]
    public async Task A_frozen_disk_is_a_base_that_keeps_the_sandboxs_writes_and_serves_new_disks()
    {
        var source = await Storage.PrepareAsync(KitHost.NewSandboxId(), await BaseAsync(), CancellationToken.None);
        await WriteAsync(source, 0x33, 0, 64 * 1024);
        await Storage.DetachAsync(source, CancellationToken.None); // a template is made from a paused sandbox

        var frozen = await Storage.FreezeAsync(source with { Attached = false }, Path.Combine(Kit.Scratch, "template"), CancellationToken.None);
        var resumed = await Storage.AttachAsync(source with { Attached = false }, CancellationToken.None);
        await WriteAsync(resumed, 0x44, 0, 64 * 1024); // the source runs on …
        var child = await Storage.PrepareAsync(KitHost.NewSandboxId(), frozen, CancellationToken.None);

        Assert.True(await HoldsAsync(child, 0x33, 0, 64 * 1024), "a template's child must start with what its source had written"); // … the template does not change
        Assert.True(await HoldsAsync(child, BasePattern, 1024 * 1024 - 64 * 1024, 64 * 1024));
        await Storage.ReleaseAsync(child, CancellationToken.None);
        await Storage.DeleteBaseAsync(frozen, CancellationToken.None);
        Assert.True(await HoldsAsync(resumed, 0x44, 0, 64 * 1024), "deleting the template took the source's data");
    }

    [ConformanceFact]
    public async Task Allocated_bytes_grow_with_what_the_sandbox_writes()
    {
        var disk = await Storage.PrepareAsync(KitHost.NewSandboxId(), await BaseAsync(), CancellationToken.None);
        var before = await Storage.AllocatedBytesAsync(disk, CancellationToken.None);

        await WriteAsync(disk, 0x55, 4 * 1024 * 1024, 1024 * 1024); // into the base's hole
        var after = await Storage.AllocatedBytesAsync(disk, CancellationToken.None);

        Assert.True(after - before >= 1024 * 1024 - 64 * 1024, $"allocated bytes went from {before} to {after} after the sandbox wrote 1 MiB");
    }
}
