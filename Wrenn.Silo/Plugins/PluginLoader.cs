using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Wrenn.Abstractions.Plugins;
using Wrenn.Silo.Plugins.Calls;
using McMasterLoader = McMaster.NETCore.Plugins.PluginLoader;

namespace Wrenn.Silo.Plugins;

/// <summary>
/// Finds plugins (folders holding a <c>plugin.json</c>) on the search path, chooses one per kind from
/// configuration (<c>Wrenn:Plugins:Vmm = "qemu"</c> …), refuses a set that cannot work — another
/// major or a newer minor Wrenn.Abstractions (by manifest and by the assembly reference compiled
/// into the plugin), a shared Microsoft.Extensions.* contract newer than the silo's, a capability no
/// chosen plugin provides — and loads each chosen plugin through a McMaster.NETCore.Plugins loader of
/// its own (<see cref="PluginAssemblies"/>). Its services are registered by its entry type or by
/// convention (<see cref="PluginRegistration"/>), and its contract is wrapped in a decorator that
/// times and logs every call with the plugin's name (<see cref="PluginCallDecoration"/>).
/// </summary>
public static class PluginLoader
{
    public static readonly IReadOnlyDictionary<PluginKind, string> Defaults = new Dictionary<PluginKind, string>
    {
        [PluginKind.Vmm] = "qemu",
        [PluginKind.Storage] = "qcow2",
        [PluginKind.Network] = "netns",
        [PluginKind.Memory] = "file",
        [PluginKind.Clock] = "chrony",
    };

    private static readonly JsonSerializerOptions ManifestJson = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    /// <summary>The Wrenn.Abstractions this silo was built with.</summary>
    public static Version HostAbstractions => PluginCompatibility.HostAbstractions;

    /// <summary>Finds and chooses, without loading anything: what <c>wrenn plugins</c> shows.</summary>
    public static PluginReport Inspect(IReadOnlyList<string> searchPath, IConfiguration configuration)
    {
        var found = new List<(PluginManifest Manifest, string Directory)>();
        var problems = new List<string>();
        var notes = new Dictionary<string, string>();
        foreach (var root in searchPath.Where(Directory.Exists))
        {
            foreach (var manifestPath in Directory.EnumerateFiles(root, "plugin.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                PluginManifest? manifest;
                try
                {
                    manifest = JsonSerializer.Deserialize<PluginManifest>(File.ReadAllText(manifestPath), ManifestJson);
                }
                catch (JsonException e)
                {
                    problems.Add($"{manifestPath} is not a valid plugin manifest: {e.Message}");
                    continue;
                }
                if (manifest is null || string.IsNullOrEmpty(manifest.Name) || string.IsNullOrEmpty(manifest.Assembly))
                {
                    problems.Add($"{manifestPath} lacks name or assembly.");
                    continue;
                }
                var directory = Path.GetDirectoryName(manifestPath)!;
                if (found.FirstOrDefault(f => f.Manifest.Kind == manifest.Kind && f.Manifest.Name == manifest.Name) is { Manifest: not null } earlier)
                {
                    notes[directory] = $"shadowed by {earlier.Directory} (earlier on the search path)";
                    found.Add((manifest, directory));
                    continue;
                }
                found.Add((manifest, directory));
            }
        }

        var chosen = new Dictionary<PluginKind, (PluginManifest Manifest, string Directory)>();
        foreach (var kind in Enum.GetValues<PluginKind>())
        {
            var wanted = configuration[$"Wrenn:Plugins:{kind}"] ?? Defaults[kind];
            var candidate = found.FirstOrDefault(f => f.Manifest.Kind == kind && f.Manifest.Name == wanted && !notes.ContainsKey(f.Directory));
            if (candidate.Manifest is null)
            {
                var names = found.Where(f => f.Manifest.Kind == kind).Select(f => f.Manifest.Name).Distinct().ToList();
                problems.Add($"No {kind} plugin named '{wanted}' on the search path{(names.Count > 0 ? $" (found: {string.Join(", ", names)})" : "")}; set Wrenn:Plugins:{kind} or add the plugin's folder to Wrenn:Plugins:Paths.");
                continue;
            }
            chosen[kind] = candidate;
        }

        foreach (var (kind, plugin) in chosen)
        {
            if (PluginCompatibility.Problem(plugin.Manifest, plugin.Directory) is { } problem)
                problems.Add(problem);
        }
        var provided = chosen.Values.SelectMany(p => p.Manifest.Provides ?? []).ToHashSet(StringComparer.Ordinal);
        foreach (var plugin in chosen.Values)
        {
            foreach (var need in plugin.Manifest.Requires ?? [])
            {
                if (!provided.Contains(need))
                    problems.Add($"{plugin.Manifest.Kind} plugin '{plugin.Manifest.Name}' requires '{need}', which none of the chosen plugins provides ({string.Join(", ", chosen.Values.Select(c => $"{c.Manifest.Kind}={c.Manifest.Name}"))}).");
            }
        }

        var report = found.Select(f =>
        {
            var isChosen = chosen.TryGetValue(f.Manifest.Kind, out var c) && c.Directory == f.Directory;
            var why = notes.GetValueOrDefault(f.Directory)
                ?? (isChosen
                    ? (configuration[$"Wrenn:Plugins:{f.Manifest.Kind}"] is null ? "chosen (the default)" : $"chosen (Wrenn:Plugins:{f.Manifest.Kind})")
                    : "not chosen");
            return new FoundPlugin(f.Manifest, f.Directory, isChosen, why);
        }).ToList();
        return new PluginReport(searchPath, report, problems);
    }

    /// <summary>
    /// Loads the chosen plugins, registers each one's services in <paramref name="services"/> and
    /// decorates its contract; throws <see cref="PluginLoadException"/> naming every problem when the
    /// set cannot work. Registers the <see cref="PluginHost"/> (plugins may take it in their
    /// constructors) and the <see cref="LoadedPlugins"/>. Settings: <c>Wrenn:Plugins:{Kind}</c> picks,
    /// <c>Wrenn:Plugins:{name}</c> is each plugin's own section, <c>Wrenn:PluginCalls:SlowAfter</c>.
    /// </summary>
    public static PluginReport Load(IServiceCollection services, IReadOnlyList<string> searchPath, IConfiguration configuration, PluginHost host)
    {
        var callOptions = CallOptions(configuration);
        var report = Inspect(searchPath, configuration);
        if (report.Problems.Count > 0)
            throw new PluginLoadException(report);
        var problems = new List<string>();
        var loaded = new List<LoadedPlugin>();
        services.TryAddSingleton(host);
        foreach (var plugin in report.Found.Where(f => f.Chosen))
        {
            try
            {
                var loader = PluginAssemblies.Create(plugin, unloadable: false);
                var assembly = loader.LoadDefaultAssembly();
                PluginRegistration.Register(assembly, plugin.Manifest, services, SectionOf(configuration, plugin), host);
                PluginCallDecoration.DecorateContract(services, plugin.Manifest.Kind, plugin.Manifest.Name, callOptions);
                loaded.Add(new LoadedPlugin(plugin, loader, assembly));
            }
            catch (Exception e) when (IsPluginFault(e))
            {
                problems.Add($"{plugin.Manifest.Kind} plugin '{plugin.Manifest.Name}' could not be loaded from {plugin.Directory}: {Unwrap(e).Message}");
            }
        }
        if (problems.Count > 0)
            throw new PluginLoadException(report with { Problems = problems });
        services.AddSingleton(new LoadedPlugins(loaded));
        return report;
    }

    /// <summary>
    /// Loads every plugin found (chosen or not) on its own, each through an unloadable loader into a
    /// throwaway container, and asks the ones that can tell what they lack here (IPluginDiagnostics):
    /// what <c>wrenn plugins</c> shows. Every loader is unloaded again.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Diagnose(PluginReport report, IConfiguration configuration, PluginHost host)
    {
        var callOptions = CallOptions(configuration);
        var answers = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var plugin in report.Found)
        {
            using var loader = PluginAssemblies.Create(plugin, unloadable: true);
            try
            {
                var services = new ServiceCollection();
                services.AddLogging();
                services.TryAddSingleton(host);
                PluginRegistration.Register(loader.LoadDefaultAssembly(), plugin.Manifest, services, SectionOf(configuration, plugin), host);
                PluginCallDecoration.DecorateDiagnostics(services, plugin.Manifest.Kind, plugin.Manifest.Name, callOptions);
                using var provider = services.BuildServiceProvider();
                answers[plugin.Directory] = provider.GetServices<IPluginDiagnostics>().SelectMany(d => d.Check()).ToList();
            }
            catch (Exception e) when (IsPluginFault(e))
            {
                answers[plugin.Directory] = [$"it could not be loaded: {Unwrap(e).Message}"];
            }
        }
        return answers;
    }

    private static IConfiguration SectionOf(IConfiguration configuration, FoundPlugin plugin) =>
        configuration.GetSection($"Wrenn:Plugins:{plugin.Manifest.Name}");

    private static PluginCallOptions CallOptions(IConfiguration configuration)
    {
        var options = configuration.GetSection("Wrenn:PluginCalls").Get<PluginCallOptions>() ?? new PluginCallOptions();
        options.Validate();
        return options;
    }

    /// <summary>What a broken or mismatched plugin throws while it is loaded and registers its services.</summary>
    private static bool IsPluginFault(Exception e) =>
        e is InvalidOperationException or IOException or BadImageFormatException or TypeLoadException or MissingMethodException
            or TargetInvocationException or InvalidCastException or ReflectionTypeLoadException or ArgumentException;

    private static Exception Unwrap(Exception e) => e is TargetInvocationException { InnerException: { } inner } ? inner : e;
}

/// <summary>A chosen plugin as loaded: its loader (kept for the silo's lifetime) and its main assembly.</summary>
public sealed record LoadedPlugin(FoundPlugin Plugin, McMasterLoader Loader, Assembly Assembly);

/// <summary>The plugins a silo loaded, one per kind, in the silo's container.</summary>
public sealed record LoadedPlugins(IReadOnlyList<LoadedPlugin> Plugins);
