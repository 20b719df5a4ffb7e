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

/// <summary>The devicemapper plugin against the conformance kit; skipped, naming it, where the kernel has no device-mapper.</summary>
[RequiresDeviceMapperConformance]
public sealed class DevicemapperConformanceTests : Wrenn.Abstractions.Testing.StorageConformance
{
    protected override IStorage CreateStorage(Wrenn.Abstractions.Plugins.PluginHost host) =>
        new DevicemapperStorage(Options.Create(new DevicemapperOptions()), host, new LoopDeviceRegistry(), NullLogger<DevicemapperStorage>.Instance);

    protected override string NewOwnerPrefix() => Wrenn.Testing.TestPrefix.NewOwner();

    protected override void RetireOwnerPrefix(string ownerPrefix) => Wrenn.Testing.TestPrefix.Retire(ownerPrefix);
}

/// <summary>Skips the kit's facts where the kernel has no device-mapper.</summary>
public sealed class RequiresDeviceMapperConformanceAttribute : Wrenn.Abstractions.Testing.ConformanceSkipAttribute
{
    public override string? Reason => DeviceMapper.Available ? null : "Needs device-mapper (dm_mod, dm_snapshot and dmsetup): this kernel has no device-mapper.";
}

/// <summary>
/// What is particular to dm-snapshot disks (the kit checks the rest): the shared loop device of a
/// frozen base, and a failed dm step leaving no CoW file or loop device, on real loop devices and device-mapper.
/// </summary>
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
