using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Wrenn.Abstractions.Clock;
using Wrenn.Abstractions.Plugins;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Plugins;
using Wrenn.Silo.Tests.Sandboxes;
using Wrenn.Testing;

namespace Wrenn.Silo.Tests.Plugins;

/// <summary>
/// A plugin author's path, as an author walks it: Wrenn.Abstractions and the kit packed to a folder
/// feed; the out-of-tree sample (samples/storage-sparse-copy) tested with the kit and published
/// against the packages into a plugin folder; a silo started with it as its storage and a sandbox
/// driven through its lifecycle on it. Also plugins built against an older and a newer minor
/// Wrenn.Abstractions (this source packed with those versions).
/// </summary>
public sealed class PluginAuthorPathTests(PluginAuthorFeed feed) : IClassFixture<PluginAuthorFeed>
{
    [Fact]
    public void The_sample_passes_the_conformance_kit_built_from_the_packed_packages()
    {
        Assert.Contains("Passed!", feed.SampleTestOutput);
        Assert.Contains("Failed:     0", feed.SampleTestOutput);
    }

    [Fact]
    public async Task A_silo_with_the_sample_as_its_storage_runs_a_sandbox_through_its_lifecycle_and_leaves_nothing()
    {
        var silo = feed.Silo;
        var created = await silo.CreateAsync(silo.Admin);
        var sandbox = silo.Host.Sandboxes.Sandbox(created.Id);
        var disk = Path.Combine(silo.DataDir, "sparse-disks", $"{silo.Owner}-{created.Id}.raw");
        Assert.True(File.Exists(disk), $"the sandbox's disk is not the sample's ({disk} is missing)");

        var written = await sandbox.ExecAsync(silo.Admin, new ExecRequest("sh", ["-c", "echo on-a-sparse-copy > /root/kept && sync && cat /root/kept"]), CancellationToken.None);
        Assert.Equal("on-a-sparse-copy\n", written.Stdout);
        using (await MachineGate.EnterAsync())
            Assert.Equal(SandboxState.Paused, (await sandbox.PauseAsync(silo.Admin)).State);
        Assert.True(File.Exists(disk), "a paused sandbox keeps its disk");
        using (await MachineGate.EnterAsync())
            Assert.Equal(SandboxState.Running, (await sandbox.ResumeAsync(silo.Admin)).State);
        Assert.Equal("on-a-sparse-copy\n", (await sandbox.ExecAsync(silo.Admin, new ExecRequest("cat", ["/root/kept"]), CancellationToken.None)).Stdout);
        await sandbox.DestroyAsync(silo.Admin);

        Assert.False(File.Exists(disk), "destroy left the sample's disk");
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(silo.DataDir, "sparse-disks")));
        Assert.DoesNotContain(await silo.HostObjectsAsync(), o => o.Contains(created.Id, StringComparison.Ordinal));
    }

    [Fact]
    public void A_plugin_compiled_against_an_older_minor_loads_and_one_against_a_newer_minor_is_refused()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        var config = new ConfigurationBuilder().AddInMemoryCollection([new("Wrenn:Plugins:Clock", "third-party-clock")]).Build();
        var host = new PluginHost("wtplug", "/tmp", "/tmp", "/run/wrenn", "/var/cache/wrenn");
        var projectPlugins = Path.Combine(RepoPaths.Artifacts, "plugins");

        PluginLoader.Load(services, [feed.ClockBuiltAgainst("1.1.0"), projectPlugins], config, host);
        Assert.Equal("third-party-clock", services.BuildServiceProvider().GetRequiredService<IGuestClock>().Name);

        var newer = PluginLoaderTests.NewerMinor;
        var error = Assert.Throws<PluginLoadException>(() => PluginLoader.Load(new ServiceCollection(), [feed.ClockBuiltAgainst($"{newer}.0"), projectPlugins], config, host));
        var problem = Assert.Single(error.Report.Problems);
        var own = PluginLoader.HostAbstractions;
        Assert.Contains($"compiled against Wrenn.Abstractions {newer} but this silo has {own.Major}.{own.Minor}: a newer minor version", problem);
    }

    [Fact]
    public void A_plugin_compiled_against_a_newer_Microsoft_Extensions_contract_than_the_silos_is_refused_naming_it()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection([new("Wrenn:Plugins:Clock", "third-party-clock")]).Build();
        var host = new PluginHost("wtplug", "/tmp", "/tmp", "/run/wrenn", "/var/cache/wrenn");

        var error = Assert.Throws<PluginLoadException>(() =>
            PluginLoader.Load(new ServiceCollection(), [feed.ClockBuiltAgainst("newer-extensions"), Path.Combine(RepoPaths.Artifacts, "plugins")], config, host));

        var problem = Assert.Single(error.Report.Problems);
        Assert.Contains("Clock plugin 'third-party-clock' was compiled against Microsoft.Extensions.DependencyInjection.Abstractions 11.0.0.0 but this silo has 10.0.0.0", problem);
    }
}

/// <summary>The packed packages, the built plugins, and a silo whose storage is the sample; everything under one temp folder.</summary>
public sealed class PluginAuthorFeed : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"{TestPrefix.Family}-author-{Guid.NewGuid():N}");
    private readonly Dictionary<string, string> _clocks = [];

    private string Feed => Path.Combine(_root, "feed");

    private string Plugins => Path.Combine(_root, "plugins");

    public SiloFixture Silo { get; private set; } = null!;

    public string SampleTestOutput { get; private set; } = "";

    /// <summary>The search-path folder holding tests/plugins/third-party-clock built against Wrenn.Abstractions <paramref name="version"/> (or "newer-extensions": Microsoft.Extensions 11).</summary>
    public string ClockBuiltAgainst(string version) => _clocks[version];

    public async Task InitializeAsync()
    {
        var abstractions = Path.Combine(RepoPaths.Root, "Wrenn.Abstractions", "Wrenn.Abstractions.csproj");
        await DotnetAsync("pack", abstractions, "-o", Feed);
        await DotnetAsync("pack", Path.Combine(RepoPaths.Root, "Wrenn.Abstractions.Testing", "Wrenn.Abstractions.Testing.csproj"), "-o", Feed);
        Assert.True(File.Exists(Path.Combine(Feed, $"Wrenn.Abstractions.{PluginLoader.HostAbstractions.ToString(3)}.nupkg")), "Wrenn.Abstractions did not pack with its version");
        // Older and newer minors: this source stamped with those versions (the check reads the compiled reference).
        foreach (var version in new[] { "1.1.0", $"{PluginLoaderTests.NewerMinor}.0" })
        {
            var stamped = Path.Combine(_root, $"feed-{version}");
            await DotnetAsync("pack", abstractions, "-o", stamped, $"-p:WrennAbstractionsVersion={version}");
            var folder = Path.Combine(_root, $"clock-{version}");
            await DotnetAsync("build", Path.Combine(RepoPaths.Root, "tests", "plugins", "third-party-clock", "ThirdPartyClock.csproj"),
                "-o", Path.Combine(folder, "third-party-clock"), $"-p:WrennAbstractionsPackage={version}", $"-p:RestoreAdditionalProjectSources={stamped}");
            _clocks[version] = folder;
        }

        var newer = Path.Combine(_root, "clock-newer-extensions");
        await DotnetAsync("build", Path.Combine(RepoPaths.Root, "tests", "plugins", "third-party-clock", "ThirdPartyClock.csproj"),
            "-o", Path.Combine(newer, "third-party-clock"), "-p:NewerExtensions=11.0.0");
        _clocks["newer-extensions"] = newer;

        var sample = Path.Combine(RepoPaths.Root, "samples", "storage-sparse-copy");
        SampleTestOutput = await DotnetAsync("test", Path.Combine(sample, "tests", "SparseCopy.Storage.Tests.csproj"), $"-p:RestoreAdditionalProjectSources={Feed}");
        await DotnetAsync("publish", Path.Combine(sample, "src", "SparseCopy.Storage.csproj"), "-o", Path.Combine(Plugins, "storage-sparse-copy"), $"-p:RestoreAdditionalProjectSources={Feed}");
        Assert.False(File.Exists(Path.Combine(Plugins, "storage-sparse-copy", "Wrenn.Abstractions.dll")), "the sample carries its own copy of the contracts");

        Silo = new SiloFixture
        {
            Configuration = new ConfigurationBuilder().AddInMemoryCollection([new("Wrenn:Plugins:Storage", "sparse-copy"), new("Wrenn:Plugins:Paths", Plugins)]).Build(),
        };
        await Silo.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        if (Silo is not null)
            await Silo.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>Runs dotnet as an author would, but with its own build and package folders (builds of the checkout run beside it); returns its output.</summary>
    private async Task<string> DotnetAsync(string verb, string project, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])[verb, project, "-c", "Release", "-nologo", "--artifacts-path", Path.Combine(_root, "build", $"{verb}-{Guid.NewGuid():N}"),
                     $"-p:RestorePackagesPath={Path.Combine(_root, "packages")}", .. args])
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"dotnet {verb} {project} failed ({process.ExitCode}):\n{await output}\n{await errors}");
        return await output;
    }
}
