using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;
using Wrenn.Plugins.Storage.Qcow2;

namespace Wrenn.Storage.Tests;

/// <summary>qcow2 overlays per sandbox over a shared base image, with real qemu-img files.</summary>
public sealed class Qcow2StorageTests(StorageFixture fixture) : IClassFixture<StorageFixture>
{
    private Qcow2Storage Storage() => new(Options.Create(new Qcow2Options()), fixture.Host, NullLogger<Qcow2Storage>.Instance);

    [Fact]
    public async Task Sandbox_disks_are_small_overlays_over_the_untouched_base()
    {
        const int size = 16 * 1024 * 1024;
        var basePath = fixture.MakeImage("base-q.img", 4, size);
        var image = new BaseImage("base-q", basePath, "raw", size);
        var storage = Storage();
        var one = await storage.PrepareAsync("sb-q1", image, CancellationToken.None);
        var two = await storage.PrepareAsync("sb-q2", image, CancellationToken.None);

        Assert.NotEqual(one.Path, two.Path);
        var info = await HostCommand.RunAsync("qemu-img", ["info", "--output=json", one.Path], CancellationToken.None);
        Assert.Contains(basePath, info);
        Assert.Contains("\"virtual-size\": " + size, info);
        // Blocks actually allocated, not the apparent size: an overlay holds metadata only.
        Assert.InRange(await storage.AllocatedBytesAsync(one, CancellationToken.None), 1, size / 8);
        Assert.Equal(2, (await storage.DiscoverAsync(fixture.Owner, CancellationToken.None)).Count);

        await storage.ReleaseAsync(one, CancellationToken.None);
        await storage.ReleaseAsync(two, CancellationToken.None);
        Assert.False(File.Exists(one.Path));
        Assert.Empty(await storage.DiscoverAsync(fixture.Owner, CancellationToken.None));
        Assert.All(await File.ReadAllBytesAsync(basePath), b => Assert.Equal(4, b));
    }

    [Fact]
    public async Task A_missing_base_image_is_refused_and_leaves_no_overlay()
    {
        var storage = Storage();
        var error = await Assert.ThrowsAsync<FileNotFoundException>(() =>
            storage.PrepareAsync("sb-q3", new BaseImage("gone", "/nonexistent/wt-base.img", "raw", 1), CancellationToken.None));
        Assert.Contains("/nonexistent/wt-base.img", error.Message);
        Assert.Empty(await storage.DiscoverAsync(fixture.Owner, CancellationToken.None));
    }
}
