using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Wrenn.Abstractions.Plugins;

namespace Wrenn.Silo.Plugins;

/// <summary>
/// Finds plugins (folders holding a <c>plugin.json</c>) on the search path, chooses one per kind from
/// configuration (<c>Wrenn:Plugins:Vmm = "qemu"</c> …), refuses a set that cannot work — another
/// major or a newer minor Wrenn.Abstractions (by manifest and by the assembly reference compiled
/// into the plugin), a capability no chosen plugin provides — and loads each chosen plugin into an
/// AssemblyLoadContext of its own, where its entry type registers its services.
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
    public static Version HostAbstractions { get; } = typeof(IWrennPlugin).Assembly.GetName().Version!;

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
                if (manifest is null || string.IsNullOrEmpty(manifest.Name) || string.IsNullOrEmpty(manifest.Assembly) || string.IsNullOrEmpty(manifest.EntryType))
                {
                    problems.Add($"{manifestPath} lacks name, assembly or entryType.");
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
            if (VersionProblem(plugin.Manifest, plugin.Directory) is { } problem)
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
    /// Loads the chosen plugins and lets each register its services; throws
    /// <see cref="PluginLoadException"/> naming every problem when the set cannot work.
    /// </summary>
    public static PluginReport Load(IServiceCollection services, IReadOnlyList<string> searchPath, IConfiguration configuration, PluginHost host)
    {
        var report = Inspect(searchPath, configuration);
        if (report.Problems.Count > 0)
            throw new PluginLoadException(report);
        var problems = new List<string>();
        // Plugins may take the PluginHost in their constructors.
        services.TryAddSingleton(host);
        foreach (var plugin in report.Found.Where(f => f.Chosen))
        {
            try
            {
                var context = new PluginLoadContext(Path.Combine(plugin.Directory, plugin.Manifest.Assembly));
                var assembly = context.LoadFromAssemblyPath(Path.Combine(plugin.Directory, plugin.Manifest.Assembly));
                var entryType = assembly.GetType(plugin.Manifest.EntryType, throwOnError: false)
                    ?? throw new InvalidOperationException($"its assembly has no type {plugin.Manifest.EntryType}");
                if (Activator.CreateInstance(entryType) is not IWrennPlugin entry)
                    throw new InvalidOperationException($"{plugin.Manifest.EntryType} does not implement IWrennPlugin (is it built against another Wrenn.Abstractions?)");
                entry.Register(services, configuration.GetSection($"Wrenn:Plugins:{plugin.Manifest.Name}"), host);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or BadImageFormatException or TypeLoadException or MissingMethodException or TargetInvocationException)
            {
                problems.Add($"{plugin.Manifest.Kind} plugin '{plugin.Manifest.Name}' could not be loaded from {plugin.Directory}: {e.Message}");
            }
        }
        if (problems.Count > 0)
            throw new PluginLoadException(report with { Problems = problems });
        return report;
    }

    /// <summary>
    /// Loads every plugin found (chosen or not) on its own, each into a throwaway container, and asks
    /// the ones that can tell what they lack here (IPluginDiagnostics): what <c>wrenn plugins</c> shows.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Diagnose(PluginReport report, IConfiguration configuration, PluginHost host)
    {
        var answers = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var plugin in report.Found)
        {
            try
            {
                var services = new ServiceCollection();
                services.AddLogging();
                services.TryAddSingleton(host);
                var context = new PluginLoadContext(Path.Combine(plugin.Directory, plugin.Manifest.Assembly));
                var entry = (IWrennPlugin)Activator.CreateInstance(context.LoadFromAssemblyPath(Path.Combine(plugin.Directory, plugin.Manifest.Assembly))
                    .GetType(plugin.Manifest.EntryType, throwOnError: true)!)!;
                entry.Register(services, configuration.GetSection($"Wrenn:Plugins:{plugin.Manifest.Name}"), host);
                using var provider = services.BuildServiceProvider();
                answers[plugin.Directory] = provider.GetServices<IPluginDiagnostics>().SelectMany(d => d.Check()).ToList();
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or BadImageFormatException or TypeLoadException or InvalidCastException or MissingMethodException or TargetInvocationException)
            {
                answers[plugin.Directory] = [$"it could not be loaded: {e.Message}"];
            }
        }
        return answers;
    }

    /// <summary>Another major, or a newer minor, than the silo's Wrenn.Abstractions — by manifest, and by the reference compiled into the assembly.</summary>
    private static string? VersionProblem(PluginManifest manifest, string directory)
    {
        var who = $"{manifest.Kind} plugin '{manifest.Name}'";
        if (!Version.TryParse(manifest.AbstractionsVersion, out var declared))
            return $"{who} declares abstractionsVersion '{manifest.AbstractionsVersion}', which is not a version like 1.0.";
        if (Incompatible(declared) is { } reason)
            return $"{who} is built for Wrenn.Abstractions {declared.Major}.{declared.Minor} (manifest) but this silo has {HostAbstractions.Major}.{HostAbstractions.Minor}: {reason}.";
        var assemblyPath = Path.Combine(directory, manifest.Assembly);
        if (!File.Exists(assemblyPath))
            return $"{who}: its assembly {assemblyPath} is missing.";
        var referenced = ReferencedAbstractions(assemblyPath);
        if (referenced is null)
            return $"{who}: {manifest.Assembly} does not reference Wrenn.Abstractions, so it cannot be a Wrenn plugin.";
        if (Incompatible(referenced) is { } compiled)
            return $"{who} was compiled against Wrenn.Abstractions {referenced.Major}.{referenced.Minor} but this silo has {HostAbstractions.Major}.{HostAbstractions.Minor}: {compiled}.";
        return null;
    }

    private static string? Incompatible(Version plugin) =>
        plugin.Major != HostAbstractions.Major ? "another major version; rebuild the plugin against this one"
        : plugin.Minor > HostAbstractions.Minor ? "a newer minor version; upgrade the silo or use an older build of the plugin"
        : null;

    /// <summary>Reads the assembly's reference to Wrenn.Abstractions without loading it.</summary>
    private static Version? ReferencedAbstractions(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        foreach (var handle in metadata.AssemblyReferences)
        {
            var reference = metadata.GetAssemblyReference(handle);
            if (metadata.GetString(reference.Name) == "Wrenn.Abstractions")
                return reference.Version;
        }
        return null;
    }
}
