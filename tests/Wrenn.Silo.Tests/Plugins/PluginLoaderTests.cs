using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Clock;
using Wrenn.Abstractions.Plugins;
using Wrenn.Silo.Plugins;
using Wrenn.Testing;

namespace Wrenn.Silo.Tests.Plugins;

/// <summary>
/// Plugin loading: a third-party plugin built outside the solution (tests/plugins/third-party-clock)
/// with its own Newtonsoft.Json, the project's own plugins from artifacts/plugins, and the sets the
/// silo must refuse.
/// </summary>
public sealed class PluginLoaderTests(ThirdPartyClockBuild build) : IClassFixture<ThirdPartyClockBuild>, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"{TestPrefix.Family}-plugins-{Guid.NewGuid():N}");
    private readonly string _thirdParty = build.Folder;

    private static string ProjectPlugins => Path.Combine(RepoPaths.Artifacts, "plugins");

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }

    private static IConfiguration Config(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();

    private static PluginHost Host => new("wtplug", "/tmp", "/tmp", "/run/wrenn", "/var/cache/wrenn");

    [Fact]
    public void A_third_party_plugin_built_outside_the_solution_loads_with_its_own_library_versions()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        var config = Config(("Wrenn:Plugins:Clock", "third-party-clock"), ("Wrenn:Plugins:third-party-clock:greeting", "hi"));

        var report = PluginLoader.Load(services, [Path.GetDirectoryName(_thirdParty)!, ProjectPlugins], config, Host);

        var clock = services.BuildServiceProvider().GetRequiredService<IGuestClock>();
        Assert.Equal("third-party-clock", clock.Name);
        Assert.Contains("newtonsoft=12.0.0.0", clock.KernelArgs); // the plugin's own Newtonsoft.Json …
        Assert.Contains("json={\"greeting\":\"hi\"}", clock.KernelArgs); // … and its own configuration section
        Assert.Equal(new Version(13, 0, 0, 0), typeof(Newtonsoft.Json.JsonConvert).Assembly.GetName().Version); // … while the silo's side has 13
        Assert.Contains(report.Found, f => f.Manifest.Name == "third-party-clock" && f.Chosen && f.Why == "chosen (Wrenn:Plugins:Clock)");
        Assert.Contains(report.Found, f => f.Manifest.Name == "chrony" && !f.Chosen);
    }

    [Fact]
    public void The_projects_own_plugins_load_from_artifacts_and_register_every_contract()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        PluginLoader.Load(services, [ProjectPlugins], Config(), Host);
        var provider = services.BuildServiceProvider();

        Assert.Equal("qemu", provider.GetRequiredService<Wrenn.Abstractions.Vmm.IVmm>().Name);
        Assert.NotNull(provider.GetRequiredService<Wrenn.Abstractions.Storage.IStorage>());
        Assert.NotNull(provider.GetRequiredService<Wrenn.Abstractions.Network.INetwork>());
        Assert.NotNull(provider.GetRequiredService<Wrenn.Abstractions.Memory.IMemoryBackend>());
        Assert.Equal("chrony", provider.GetRequiredService<IGuestClock>().Name);
    }

    /// <summary>The minor after this silo's Wrenn.Abstractions (e.g. "1.4" on 1.3).</summary>
    internal static string NewerMinor => $"{PluginLoader.HostAbstractions.Major}.{PluginLoader.HostAbstractions.Minor + 1}";

    [Theory]
    [InlineData("newer-minor", "a newer minor version")]
    [InlineData("2.0", "another major version")]
    [InlineData("0.9", "another major version")]
    public void A_plugin_built_for_another_major_or_a_newer_minor_Wrenn_Abstractions_is_refused(string version, string reason)
    {
        version = version == "newer-minor" ? NewerMinor : version;
        var copy = CopyOfThirdParty($"v{version}", manifest => manifest.Replace("\"abstractionsVersion\": \"1.1\"", $"\"abstractionsVersion\": \"{version}\""));

        var error = Assert.Throws<PluginLoadException>(() =>
            PluginLoader.Load(new ServiceCollection(), [copy, ProjectPlugins], Config(("Wrenn:Plugins:Clock", "third-party-clock")), Host));

        var problem = Assert.Single(error.Report.Problems);
        Assert.Contains("Clock plugin 'third-party-clock'", problem);
        Assert.Contains(reason, problem);
    }

    [Fact]
    public async Task Every_call_into_a_plugin_is_logged_with_its_name_and_slow_or_failing_calls_are_warnings()
    {
        var logged = new RecordingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Debug).AddProvider(logged));
        PluginLoader.Load(services, [Path.GetDirectoryName(_thirdParty)!, ProjectPlugins],
            Config(("Wrenn:Plugins:Clock", "third-party-clock"), ("Wrenn:PluginCalls:SlowAfter", "00:00:00.050")), Host);
        var clock = services.BuildServiceProvider().GetRequiredService<IGuestClock>();

        await clock.SyncAsync(new NamedGuest("sb-quick"), CancellationToken.None);
        await clock.SyncAsync(new NamedGuest("sb-slow"), CancellationToken.None);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => clock.SyncAsync(new NamedGuest("sb-failing"), CancellationToken.None));

        Assert.Equal("the third-party clock cannot reach sb-failing", error.Message); // the plugin's own error reaches the caller
        var quick = Assert.Single(logged.Entries, e => e.Message.Contains("sb-quick"));
        Assert.Equal((LogLevel.Debug, "Wrenn.Plugins.Calls"), (quick.Level, quick.Category));
        Assert.StartsWith("Clock plugin third-party-clock: SyncAsync for sb-quick took", quick.Message);
        var slow = Assert.Single(logged.Entries, e => e.Message.Contains("sb-slow"));
        Assert.Equal(LogLevel.Warning, slow.Level);
        Assert.StartsWith("Clock plugin third-party-clock is slow: SyncAsync for sb-slow took", slow.Message);
        var failed = Assert.Single(logged.Entries, e => e.Message.Contains("sb-failing"));
        Assert.Equal(LogLevel.Warning, failed.Level);
        Assert.StartsWith("Clock plugin third-party-clock failed: SyncAsync for sb-failing", failed.Message);
        Assert.Same(error, failed.Exception);
    }

    [Fact]
    public void A_plugin_whose_manifest_names_no_entry_type_is_registered_through_its_one_IWrennPlugin()
    {
        var copy = CopyOfThirdParty("no-entry", m => m.Replace("\"entryType\": \"Example.ThirdPartyClock.ThirdPartyClockPlugin\",", ""));
        var services = new ServiceCollection();
        services.AddLogging();

        PluginLoader.Load(services, [copy, ProjectPlugins], Config(("Wrenn:Plugins:Clock", "third-party-clock")), Host);

        Assert.Equal("third-party-clock", services.BuildServiceProvider().GetRequiredService<IGuestClock>().Name);
    }

    [Fact]
    public void A_bad_slow_call_setting_is_refused_naming_it()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            PluginLoader.Load(new ServiceCollection(), [ProjectPlugins], Config(("Wrenn:PluginCalls:SlowAfter", "-00:00:01")), Host));
        Assert.Contains("Wrenn:PluginCalls:SlowAfter", error.Message);
    }

    [Fact]
    public void The_silo_and_its_plugins_share_one_copy_of_the_contracts()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        PluginLoader.Load(services, [ProjectPlugins], Config(), Host);
        var provider = services.BuildServiceProvider();

        var loaded = provider.GetRequiredService<LoadedPlugins>();
        Assert.Equal(5, loaded.Plugins.Count);
        foreach (var plugin in loaded.Plugins)
        {
            var context = System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(plugin.Assembly)!;
            Assert.NotSame(System.Runtime.Loader.AssemblyLoadContext.Default, context); // each plugin in a context of its own …
            var abstractions = plugin.Assembly.GetReferencedAssemblies().Single(r => r.Name == "Wrenn.Abstractions");
            Assert.Same(typeof(IWrennPlugin).Assembly, context.LoadFromAssemblyName(abstractions)); // … sharing the silo's contracts
        }
        Assert.Equal(5, loaded.Plugins.Select(p => System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(p.Assembly)).Distinct().Count()); // one loader per plugin folder
    }

    [Fact]
    public void A_mismatched_set_is_refused_naming_the_plugin_and_what_it_lacks()
    {
        var copy = CopyOfThirdParty("needs-firecracker", manifest => manifest.Replace("\"requires\": [ ]", "\"requires\": [ \"vmm:firecracker\" ]"));

        var error = Assert.Throws<PluginLoadException>(() =>
            PluginLoader.Load(new ServiceCollection(), [copy, ProjectPlugins], Config(("Wrenn:Plugins:Clock", "third-party-clock")), Host));

        Assert.Contains("Clock plugin 'third-party-clock' requires 'vmm:firecracker', which none of the chosen plugins provides", error.Message);
        var missing = Assert.Throws<PluginLoadException>(() =>
            PluginLoader.Load(new ServiceCollection(), [ProjectPlugins], Config(("Wrenn:Plugins:Vmm", "nonesuch")), Host));
        Assert.Contains("No Vmm plugin named 'nonesuch'", missing.Message);
        // The project's own mismatch: userfaultfd memory needs a VMM that hands out its userfaultfd (Firecracker), not QEMU.
        var uffdOnQemu = Assert.Throws<PluginLoadException>(() =>
            PluginLoader.Load(new ServiceCollection(), [ProjectPlugins], Config(("Wrenn:Plugins:Memory", "uffd")), Host));
        Assert.Contains("Memory plugin 'uffd' requires 'memory-backing:uffd', which none of the chosen plugins provides", uffdOnQemu.Message);
    }

    [Fact]
    public void Wrenn_plugins_shows_what_a_plugin_lacks_on_this_host()
    {
        var config = Config(("Wrenn:Plugins:firecracker:Binary", "/nonexistent/firecracker"));
        var report = PluginLoader.Inspect([ProjectPlugins], config);

        var text = report.Render(PluginLoader.Diagnose(report, config, Host));

        Assert.Contains("! the firecracker binary '/nonexistent/firecracker' was not found", text);
        Assert.DoesNotContain("! ", text.Split('\n').Where(l => l.Contains("qemu", StringComparison.Ordinal)).FirstOrDefault() ?? "");
    }

    [Fact]
    public void An_earlier_folder_on_the_search_path_wins_and_the_later_one_is_reported_as_shadowed()
    {
        var first = CopyOfThirdParty("first", m => m);
        var second = CopyOfThirdParty("second", m => m.Replace("A test plugin", "The shadowed copy"));

        var report = PluginLoader.Inspect([first, second, ProjectPlugins], Config(("Wrenn:Plugins:Clock", "third-party-clock")));

        var copies = report.Found.Where(f => f.Manifest.Name == "third-party-clock").ToList();
        Assert.Equal(2, copies.Count);
        Assert.True(copies.Single(c => c.Directory.StartsWith(first, StringComparison.Ordinal)).Chosen);
        Assert.StartsWith("shadowed by", copies.Single(c => c.Directory.StartsWith(second, StringComparison.Ordinal)).Why);
        Assert.Empty(report.Problems);
        Assert.Contains("* third-party-clock", report.Render());
    }

    /// <summary>A copy of the built third-party plugin under its own search-path folder, with an edited manifest.</summary>
    private string CopyOfThirdParty(string name, Func<string, string> editManifest)
    {
        var folder = Path.Combine(_root, name);
        var target = Path.Combine(folder, "third-party-clock");
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(_thirdParty))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        var manifest = Path.Combine(target, "plugin.json");
        File.WriteAllText(manifest, editManifest(File.ReadAllText(manifest)));
        return folder;
    }
}

/// <summary>A guest that only has a name: the third-party clock reads nothing else.</summary>
internal sealed class NamedGuest(string sandboxId) : Wrenn.Abstractions.Guest.IGuestControl
{
    public string SandboxId => sandboxId;
    public Task<DateTimeOffset> GetTimeAsync(CancellationToken cancellationToken) => Task.FromResult(DateTimeOffset.UtcNow);
    public Task SetTimeAsync(DateTimeOffset time, CancellationToken cancellationToken) => Task.CompletedTask;
    public Task<bool> HasPtpClockAsync(CancellationToken cancellationToken) => Task.FromResult(false);
}

/// <summary>Keeps what was logged through the real logging pipeline, for assertions.</summary>
internal sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly List<Entry> _entries = [];

    public sealed record Entry(string Category, LogLevel Level, string Message, Exception? Exception);

    public IReadOnlyList<Entry> Entries
    {
        get
        {
            lock (_entries)
                return [.. _entries];
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(RecordingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner._entries)
                owner._entries.Add(new Entry(category, logLevel, formatter(state, exception), exception));
        }
    }
}

/// <summary>tests/plugins/third-party-clock built once per test class, as its author would (its own build folders), into a temp folder.</summary>
public sealed class ThirdPartyClockBuild : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"{TestPrefix.Family}-tpc-{Guid.NewGuid():N}");

    /// <summary>The built plugin folder (plugin.json beside its assemblies).</summary>
    public string Folder => Path.Combine(_root, "built", "third-party-clock");

    public async Task InitializeAsync()
    {
        var build = Process.Start(new ProcessStartInfo("dotnet",
            ["build", Path.Combine(RepoPaths.Root, "tests", "plugins", "third-party-clock", "ThirdPartyClock.csproj"), "-c", "Release", "-o", Folder,
             "--artifacts-path", Path.Combine(_root, "build"), "-nologo", "-v", "quiet"])
        { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = build.StandardOutput.ReadToEndAsync();
        await build.WaitForExitAsync();
        Assert.True(build.ExitCode == 0, $"building the third-party plugin failed:\n{await output}");
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }
}
