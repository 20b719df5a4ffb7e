using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Abstractions.Plugins;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Hosting;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;
using Wrenn.Testing.Postgres;

namespace Wrenn.Silo.Tests.Sandboxes;

/// <summary>
/// A whole Wrenn silo in the test process: its own database on the test PostgreSQL, the real
/// plugins (QEMU under TCG, netns, qcow2) under a test owner prefix, the guest image as <c>base</c>.
/// Creates pass through <see cref="MachineGate"/>; disposal destroys every sandbox and sweeps what
/// a failing test left under the owner prefix.
/// </summary>
public sealed class SiloFixture : IAsyncLifetime
{
    public string Owner { get; private set; } = "";

    public string DataDir => $"/run/wrenn/{Owner}-data";

    public string ConnectionString { get; private set; } = "";

    public WrennSiloHost Host { get; private set; } = null!;

    /// <summary>The first-start admin team's caller.</summary>
    public Caller Admin { get; private set; } = null!;

    public WrennSiloOptions Options => new()
    {
        DataDir = DataDir,
        ConnectionString = ConnectionString,
        ImageDir = RepoPaths.ImageDir,
        OwnerPrefix = Owner,
        SiloName = $"{Owner}-silo",
        OnExit = OnExit.Destroy,
        WarmBase = WarmBase,
        Configuration = TestSiloSettings.With(Configuration),
        Logging = Logging,
        Services = Services,
    };

    /// <summary>Where the silo's logs go (none by default).</summary>
    public Action<Microsoft.Extensions.Logging.ILoggingBuilder>? Logging { get; init; }

    /// <summary>Services the test adds or replaces (e.g. a counting decorator of the API's backend).</summary>
    public Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? Services { get; init; }

    /// <summary>Settings for the silo (Wrenn:Sandboxes:…, Wrenn:Capacity:…).</summary>
    public Microsoft.Extensions.Configuration.IConfiguration? Configuration { get; init; }

    /// <summary>Whether the silo prepares the warm base at start (one more boot; only the tests of it need it).</summary>
    public bool WarmBase { get; init; }

    public async Task InitializeAsync()
    {
        await HostSweep.RemoveLeftoversAsync();
        Owner = TestPrefix.NewOwner();
        ConnectionString = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync($"silo-{Owner}");
        Host = await WrennSiloHost.StartAsync(Options, CancellationToken.None);
        Admin = (await Host.Teams.AuthenticateAsync(Host.FirstAdminKey!, CancellationToken.None))!;
    }

    /// <summary>Stops the silo (keeping its VMs, as a restart would, unless told otherwise) and starts it again on the same data.</summary>
    public async Task RestartAsync(OnExit onExit = OnExit.Keep)
    {
        Host.OnExit = onExit;
        await Host.DisposeAsync();
        Host = await WrennSiloHost.StartAsync(Options, CancellationToken.None);
    }

    public async Task<SandboxInfo> CreateAsync(Caller caller, string template = "base", int timeoutSeconds = 600)
    {
        using var gate = await MachineGate.EnterAsync();
        return await Host.Sandboxes.CreateAsync(caller, new NewSandbox(template, TimeoutSeconds: timeoutSeconds), CancellationToken.None);
    }

    /// <summary>Host objects that carry this silo's owner prefix: VMM processes, jails, network slots, disks, work folders.</summary>
    public async Task<IReadOnlyList<string>> HostObjectsAsync()
    {
        var plugins = LocalPlugins.Create(new PluginHost(Owner, DataDir, Path.Combine("/run/wrenn", Owner), "/run/wrenn", "/var/cache/wrenn"), NullLoggerFactory.Instance);
        var found = new List<string>();
        found.AddRange((await plugins.Vmm.DiscoverAsync(Owner, CancellationToken.None)).Select(v => $"vm {v.SandboxId}"));
        found.AddRange(plugins.Vmm.Jails.OwnedBy(Owner).Select(j => $"jail of {j.SandboxId} (uid {j.Uid})"));
        found.AddRange(Directory.EnumerateDirectories("/sys/fs/cgroup").Select(h => Path.Combine(h, "wrenn")).Where(Directory.Exists)
            .SelectMany(parent => Directory.EnumerateDirectories(parent, $"{Owner}-*")).Select(d => $"cgroup {d}"));
        found.AddRange((await plugins.Network.DiscoverAsync(Owner, CancellationToken.None)).Select(s => $"netns {s.Namespace} of {s.SandboxId}"));
        found.AddRange((await plugins.Storage.DiscoverAsync(Owner, CancellationToken.None)).Select(d => $"disk {d.Path}"));
        var vms = Path.Combine("/run/wrenn", Owner, "vms");
        if (Directory.Exists(vms))
            found.AddRange(Directory.EnumerateDirectories(vms).Select(d => $"folder {d}"));
        return found;
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        var plugins = LocalPlugins.Create(new PluginHost(Owner, DataDir, Path.Combine("/run/wrenn", Owner), "/run/wrenn", "/var/cache/wrenn"), NullLoggerFactory.Instance);
        await plugins.WithSnapshots(NullLoggerFactory.Instance).RemoveOrphansAsync(_ => false, CancellationToken.None);
        foreach (var dir in new[] { DataDir, Path.Combine("/run/wrenn", Owner) })
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
        TestPrefix.Retire(Owner);
    }
}
