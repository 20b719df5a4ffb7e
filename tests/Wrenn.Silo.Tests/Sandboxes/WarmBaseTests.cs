using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

namespace Wrenn.Silo.Tests.Sandboxes;

/// <summary>A silo that prepared the warm base: the base image booted once and frozen, passed through the machine gate.</summary>
public sealed class WarmSiloFixture : IAsyncLifetime
{
    public SiloFixture Silo { get; } = new() { WarmBase = true };

    public async Task InitializeAsync()
    {
        using (await MachineGate.EnterAsync())
            await Silo.InitializeAsync();
    }

    public Task DisposeAsync() => Silo.DisposeAsync();
}

/// <summary>Creates of the base's default size restore the warm base instead of booting; clones do not share RNG state.</summary>
public sealed class WarmBaseTests(WarmSiloFixture warm) : IClassFixture<WarmSiloFixture>
{
    private SiloFixture Silo => warm.Silo;

    private async Task<string> RunAsync(string sandboxId, string script) =>
        (await Silo.Host.Sandboxes.Sandbox(sandboxId).ExecAsync(Silo.Admin, new ExecRequest("sh", ["-c", script]), CancellationToken.None)).Stdout.Trim();

    [Fact]
    public async Task Default_sized_sandboxes_are_restored_from_the_warm_base_and_each_gets_its_own_randomness()
    {
        var first = await Silo.CreateAsync(Silo.Admin);
        var second = await Silo.CreateAsync(Silo.Admin);
        SandboxInfo booted;
        using (await MachineGate.EnterAsync())
            booted = await Silo.Host.Sandboxes.CreateAsync(Silo.Admin, new NewSandbox("base", MemoryMib: 320), CancellationToken.None);
        try
        {
            // The kernel log up to the snapshot, with its timestamps: identical in clones, never in two boots.
            const string bootId = "dmesg | head -n 40";
            const string random = "head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'";
            // Restored from one snapshot: the same boot …
            Assert.Equal(await RunAsync(first.Id, bootId), await RunAsync(second.Id, bootId));
            // … but the RNG was reseeded from the host in each, so their randomness differs.
            Assert.NotEqual(await RunAsync(first.Id, random), await RunAsync(second.Id, random));
            // Another size cannot use the warm base: it boots.
            Assert.NotEqual(await RunAsync(first.Id, bootId), await RunAsync(booted.Id, bootId));
        }
        finally
        {
            foreach (var id in new[] { first.Id, second.Id, booted.Id })
                await Silo.Host.Sandboxes.Sandbox(id).DestroyAsync(Silo.Admin);
        }
        Assert.DoesNotContain(await Silo.HostObjectsAsync(), o => o.StartsWith("vm ", StringComparison.Ordinal));
    }
}
