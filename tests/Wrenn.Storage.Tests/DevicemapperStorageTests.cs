using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Storage;
using Wrenn.Plugins.Storage.Devicemapper;

namespace Wrenn.Storage.Tests;

/// <summary>Whether the running kernel has device-mapper (its misc device is registered).</summary>
internal static class DeviceMapper
{
    public static bool Available =>
        File.ReadAllText("/proc/misc").Contains("device-mapper", StringComparison.Ordinal)
        && (File.Exists("/usr/sbin/dmsetup") || File.Exists("/sbin/dmsetup"));
}

/// <summary>Runs only where the kernel has device-mapper; this machine's kernel has none, so they are skipped, naming it.</summary>
public sealed class RequiresDeviceMapperFactAttribute : FactAttribute
{
    public RequiresDeviceMapperFactAttribute()
    {
        if (!DeviceMapper.Available)
            Skip = "Needs device-mapper (dm_mod, dm_snapshot and dmsetup): this kernel has no device-mapper.";
    }
}

/// <summary>dm-snapshot sandbox disks (devicemapper plugin), on real loop devices and device-mapper.</summary>
public sealed class DevicemapperStorageTests(StorageFixture fixture) : IClassFixture<StorageFixture>
{
    private DevicemapperStorage Storage(LoopDeviceRegistry loops) =>
        new(Options.Create(new DevicemapperOptions()), fixture.Host, loops, NullLogger<DevicemapperStorage>.Instance);

    [RequiresDeviceMapperFact]
    public async Task A_frozen_disk_is_a_standalone_base_with_the_sandboxs_writes_and_serves_sandboxes_of_its_own()
    {
        var baseImage = new BaseImage("base-dmf", fixture.MakeImage("base-dmf.img", 7, 4 * 1024 * 1024), "raw", 4 * 1024 * 1024);
        var loops = new LoopDeviceRegistry();
        var storage = Storage(loops);
        var source = await storage.PrepareAsync("sb-src", baseImage, CancellationToken.None);
        await using (var device = new FileStream(source.Path, FileMode.Open, FileAccess.ReadWrite))
            await device.WriteAsync(Enumerable.Repeat((byte)5, 4096).ToArray());
        await storage.DetachAsync(source, CancellationToken.None);

        var frozen = await storage.FreezeAsync(source, Path.Combine(fixture.Folder, "tpl-dm"), CancellationToken.None);
        await storage.ReleaseAsync(source with { Attached = false }, CancellationToken.None);

        var bytes = await File.ReadAllBytesAsync(frozen.Path);
        Assert.All(bytes[..4096], b => Assert.Equal(5, b));   // the sandbox's write …
        Assert.All(bytes[4096..], b => Assert.Equal(7, b));   // … over the base, in one standalone image
        var child = await storage.PrepareAsync("sb-child", frozen, CancellationToken.None);
        await storage.ReleaseAsync(child, CancellationToken.None);
        Assert.Equal(0, loops.References(frozen.Path));
    }

    [RequiresDeviceMapperFact]
    public async Task Each_sandbox_writes_its_own_copy_on_write_layer_over_the_shared_base()
    {
        var baseImage = new BaseImage("base-dm", fixture.MakeImage("base-dm.img", 7, 4 * 1024 * 1024), "raw", 4 * 1024 * 1024);
        var loops = new LoopDeviceRegistry();
        var storage = Storage(loops);
        var one = await storage.PrepareAsync("sb-one", baseImage, CancellationToken.None);
        var two = await storage.PrepareAsync("sb-two", baseImage, CancellationToken.None);
        try
        {
            Assert.Equal(2, loops.References(baseImage.Path));
            await using (var device = new FileStream(one.Path, FileMode.Open, FileAccess.ReadWrite))
                await device.WriteAsync(Enumerable.Repeat((byte)9, 4096).ToArray());
            await using (var device = new FileStream(two.Path, FileMode.Open, FileAccess.Read))
            {
                var buffer = new byte[4096];
                await device.ReadExactlyAsync(buffer);
                Assert.All(buffer, b => Assert.Equal(7, b)); // one's write is not seen by two
            }
            Assert.All(await File.ReadAllBytesAsync(baseImage.Path), b => Assert.Equal(7, b)); // the base never changes
            Assert.True(await storage.AllocatedBytesAsync(one, CancellationToken.None) < baseImage.SizeBytes);
        }
        finally
        {
            await storage.ReleaseAsync(one, CancellationToken.None);
            await storage.ReleaseAsync(two, CancellationToken.None);
        }
        Assert.Equal(0, loops.References(baseImage.Path));
        Assert.Empty(await storage.DiscoverAsync(fixture.Owner, CancellationToken.None));
    }

    [RequiresDeviceMapperFact]
    public async Task A_detached_disk_keeps_its_data_and_attaches_again()
    {
        var baseImage = new BaseImage("base-dm2", fixture.MakeImage("base-dm2.img", 1, 4 * 1024 * 1024), "raw", 4 * 1024 * 1024);
        var storage = Storage(new LoopDeviceRegistry());
        var disk = await storage.PrepareAsync("sb-keep", baseImage, CancellationToken.None);
        await using (var device = new FileStream(disk.Path, FileMode.Open, FileAccess.ReadWrite))
            await device.WriteAsync(Enumerable.Repeat((byte)5, 4096).ToArray());
        await storage.DetachAsync(disk, CancellationToken.None);
        Assert.False(File.Exists(disk.Path));
        disk = await storage.AttachAsync(disk with { Attached = false }, CancellationToken.None);
        try
        {
            await using var device = new FileStream(disk.Path, FileMode.Open, FileAccess.Read);
            var buffer = new byte[4096];
            await device.ReadExactlyAsync(buffer);
            Assert.All(buffer, b => Assert.Equal(5, b));
        }
        finally
        {
            await storage.ReleaseAsync(disk, CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_failed_prepare_leaves_no_cow_file_or_loop_device_behind()
    {
        var baseImage = new BaseImage("base-dm3", fixture.MakeImage("base-dm3.img", 2), "raw", 1024 * 1024);
        var loops = new LoopDeviceRegistry();
        var storage = Storage(loops);
        var cowFolder = Path.Combine(fixture.Folder, "disks");
        // Without device-mapper the dm step fails by itself; with it, a target squatting the name makes it fail.
        var squatter = $"{fixture.Owner}-sb-failing";
        if (DeviceMapper.Available)
            await Wrenn.Abstractions.Plugins.HostCommand.RunAsync("dmsetup", ["create", squatter, "--table", "0 8 zero"], CancellationToken.None);
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => storage.PrepareAsync("sb-failing", baseImage, CancellationToken.None));
        }
        finally
        {
            if (DeviceMapper.Available)
                await Wrenn.Abstractions.Plugins.HostCommand.TryRunAsync("dmsetup", ["remove", squatter], CancellationToken.None);
        }
        Assert.False(Directory.Exists(cowFolder) && Directory.EnumerateFiles(cowFolder).Any(), "a CoW file is left");
        Assert.Equal(0, loops.References(baseImage.Path));
        var attached = await Wrenn.Abstractions.Plugins.HostCommand.RunAsync("losetup", ["--list", "--noheadings", "--raw", "--output", "BACK-FILE"], CancellationToken.None);
        Assert.DoesNotContain(fixture.Folder, attached);
    }
}
