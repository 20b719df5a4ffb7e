using System.Reflection;
using Wrenn.Abstractions.Plugins;
using McMasterLoader = McMaster.NETCore.Plugins.PluginLoader;

namespace Wrenn.Silo.Plugins;

/// <summary>
/// One McMaster.NETCore.Plugins loader per plugin folder. The plugin's own dependencies resolve from
/// its folder (its deps.json), so two plugins may carry different versions of a library;
/// Wrenn.Abstractions and the Microsoft.Extensions.* assemblies the silo has always come from the
/// silo, so that the plugin's contract types and the silo's are the same types.
/// </summary>
internal static class PluginAssemblies
{
    private static readonly Lazy<Dictionary<string, Version>> HostShared = new(FindHostShared);

    /// <summary>Names shared with every plugin: Wrenn.Abstractions and Microsoft.Extensions.*.</summary>
    public static bool IsSharedName(string name) =>
        name == "Wrenn.Abstractions" || name.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal);

    /// <summary>The version of a shared assembly the silo has, or null when it has none (the plugin then brings its own).</summary>
    public static Version? HostVersionOf(string name) => HostShared.Value.GetValueOrDefault(name);

    /// <summary>
    /// A loader for the plugin's main assembly. <paramref name="unloadable"/> for a look that ends
    /// (<c>wrenn plugins</c>); the silo's own plugins stay loaded as long as it runs.
    /// </summary>
    public static McMasterLoader Create(FoundPlugin plugin, bool unloadable) =>
        McMasterLoader.CreateFromAssemblyFile(Path.Combine(plugin.Directory, plugin.Manifest.Assembly), config =>
        {
            config.IsUnloadable = unloadable;
            // Names only: what the silo has is resolved from its context when the plugin asks for it.
            config.IsLazyLoaded = true;
            foreach (var name in HostShared.Value.Keys)
                config.SharedAssemblies.Add(new AssemblyName(name));
        });

    /// <summary>Wrenn.Abstractions and every Microsoft.Extensions.* assembly on the silo's probing list (the app and its frameworks).</summary>
    private static Dictionary<string, Version> FindHostShared()
    {
        var shared = new Dictionary<string, Version>(StringComparer.Ordinal)
        {
            ["Wrenn.Abstractions"] = typeof(IWrennPlugin).Assembly.GetName().Version!,
        };
        var trusted = (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (var path in trusted)
        {
            var name = Path.GetFileNameWithoutExtension(path);
            if (!IsSharedName(name) || shared.ContainsKey(name))
                continue;
            try
            {
                shared[name] = AssemblyName.GetAssemblyName(path).Version ?? new Version(0, 0);
            }
            catch (BadImageFormatException)
            {
                // Not a managed assembly: nothing to share.
            }
        }
        return shared;
    }
}
