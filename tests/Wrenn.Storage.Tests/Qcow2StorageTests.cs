using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;
using Wrenn.Plugins.Storage.Qcow2;

namespace Wrenn.Storage.Tests;

/// <summary>The qcow2 plugin against the conformance kit, with real qemu-img files.</summary>
public sealed class Qcow2ConformanceTests : Wrenn.Abstractions.Testing.StorageConformance
{
    protected override IStorage CreateStorage(PluginHost host) => new Qcow2Storage(Options.Create(new Qcow2Options()), host, NullLogger<Qcow2Storage>.Instance);

    protected override string NewOwnerPrefix() => Wrenn.Testing.TestPrefix.NewOwner();

    protected override void RetireOwnerPrefix(string ownerPrefix) => Wrenn.Testing.TestPrefix.Retire(ownerPrefix);
}

/// <summary>What is particular to qcow2 overlays (the kit checks the rest): small overlays naming their base, chains kept short.</summary>
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

    private static Task WriteAsync(string image, byte pattern, int offset) =>
        HostCommand.RunAsync("qemu-io", ["-f", "qcow2", "-c", $"write -P {pattern} {offset} 64k", image], CancellationToken.None);

    private static async Task<bool> ReadsAsync(string image, byte pattern, int offset) =>
        !(await HostCommand.RunAsync("qemu-io", ["-f", "qcow2", "-r", "-c", $"read -P {pattern} {offset} 64k", image], CancellationToken.None)).Contains("Pattern verification failed", StringComparison.Ordinal);

    [Fact]
    public async Task A_frozen_template_disk_is_independent_of_its_source_and_deep_chains_are_flattened()
    {
        const int size = 16 * 1024 * 1024;
        var basePath = fixture.MakeImage("base-f.img", 0, size);
        var storage = new Qcow2Storage(Options.Create(new Qcow2Options { MaxChainDepth = 2 }), fixture.Host, NullLogger<Qcow2Storage>.Instance);
        var source = await storage.PrepareAsync("sb-f0", new BaseImage("base-f", basePath, "raw", size), CancellationToken.None);
        await WriteAsync(source.Path, 0x11, 0);

        var frozen = await storage.FreezeAsync(source, Path.Combine(fixture.Folder, "tpl-1"), CancellationToken.None);
        await WriteAsync(source.Path, 0x22, 0); // the source goes on changing …
        Assert.True(await ReadsAsync(frozen.Path, 0x11, 0)); // … the template does not
        File.Delete(frozen.Path);
        Assert.True(await ReadsAsync(source.Path, 0x22, 0), "deleting the template must not take the source's disk with it");

        // Templates of templates: each layer adds one; past the bound the frozen disk is flattened onto the root.
        var image = new BaseImage("base-f", basePath, "raw", size);
        var layers = new List<BaseImage>();
        for (var i = 1; i <= 4; i++)
        {
            var child = await storage.PrepareAsync($"sb-f{i}", image, CancellationToken.None);
            await WriteAsync(child.Path, (byte)(0x30 + i), i * 65536);
            image = await storage.FreezeAsync(child, Path.Combine(fixture.Folder, $"tpl-chain-{i}"), CancellationToken.None);
            layers.Add(image);
            await storage.ReleaseAsync(child, CancellationToken.None);
            Assert.True((await storage.ChainAsync(image.Path, CancellationToken.None)).Count - 1 <= 2, $"layer {i} is deeper than the bound");
        }
        for (var i = 1; i <= 4; i++)
            Assert.True(await ReadsAsync(image.Path, (byte)(0x30 + i), i * 65536), $"layer {i}'s data is missing after flattening");
        await storage.ReleaseAsync(source, CancellationToken.None);
    }
}
