using Wrenn.Abstractions.Plugins;
using Wrenn.Plugins.Storage.Devicemapper;

namespace Wrenn.Storage.Tests;

/// <summary>The devicemapper plugin's loop-device registry, on real loop devices.</summary>
public sealed class LoopDeviceRegistryTests(StorageFixture fixture) : IClassFixture<StorageFixture>
{
    [Fact]
    public async Task Sandboxes_over_one_base_image_share_one_read_only_loop_device_until_the_last_lets_go()
    {
        var image = fixture.MakeImage("base-a.img", 0xA5);
        var registry = new LoopDeviceRegistry();

        var first = await registry.AcquireAsync(image, CancellationToken.None);
        var second = await registry.AcquireAsync(image, CancellationToken.None);
        Assert.Equal(first, second);
        Assert.Equal(2, registry.References(image));
        Assert.Equal([first], await AttachedTo(image));
        Assert.Equal("1", (await HostCommand.RunAsync("blockdev", ["--getro", first], CancellationToken.None)).Trim());
        // The device reads the image's bytes.
        await using (var device = new FileStream(first, FileMode.Open, FileAccess.Read))
        {
            var buffer = new byte[4096];
            await device.ReadExactlyAsync(buffer);
            Assert.All(buffer, b => Assert.Equal(0xA5, b));
        }

        await registry.ReleaseAsync(image, CancellationToken.None);
        Assert.Equal([first], await AttachedTo(image));
        await registry.ReleaseAsync(image, CancellationToken.None);
        Assert.Empty(await AttachedTo(image));
        Assert.Equal(0, registry.References(image));
    }

    [Fact]
    public async Task Two_base_images_get_two_devices_and_a_released_image_is_attached_again_on_next_use()
    {
        var imageA = fixture.MakeImage("base-b.img", 1);
        var imageB = fixture.MakeImage("base-c.img", 2);
        var registry = new LoopDeviceRegistry();
        var a = await registry.AcquireAsync(imageA, CancellationToken.None);
        var b = await registry.AcquireAsync(imageB, CancellationToken.None);
        Assert.NotEqual(a, b);
        await registry.ReleaseAsync(imageA, CancellationToken.None);
        await registry.ReleaseAsync(imageB, CancellationToken.None);
        Assert.Empty(await AttachedTo(imageA));

        await registry.AcquireAsync(imageA, CancellationToken.None);
        Assert.Single(await AttachedTo(imageA));
        await registry.ReleaseAsync(imageA, CancellationToken.None);
        Assert.Empty(await AttachedTo(imageA));
    }

    [Fact]
    public async Task A_loop_device_left_attached_by_an_earlier_process_is_adopted_not_duplicated()
    {
        var image = fixture.MakeImage("base-d.img", 3);
        var earlier = (await HostCommand.RunAsync("losetup", ["--find", "--show", "--read-only", image], CancellationToken.None)).Trim();
        var registry = new LoopDeviceRegistry(); // a restarted silo knows nothing yet
        Assert.Equal(earlier, await registry.AcquireAsync(image, CancellationToken.None));
        Assert.Single(await AttachedTo(image));
        await registry.ReleaseAsync(image, CancellationToken.None);
        Assert.Empty(await AttachedTo(image));
    }

    [Fact]
    public async Task A_missing_base_image_is_refused_with_its_path()
    {
        var registry = new LoopDeviceRegistry();
        var error = await Assert.ThrowsAsync<FileNotFoundException>(() => registry.AcquireAsync("/nonexistent/wt-base.img", CancellationToken.None));
        Assert.Contains("/nonexistent/wt-base.img", error.Message);
    }

    private static async Task<string[]> AttachedTo(string image)
    {
        var listing = await HostCommand.RunAsync("losetup", ["--list", "--noheadings", "--raw", "--output", "NAME", "--associated", image], CancellationToken.None);
        return listing.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
