using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Wrenn.Abstractions.Plugins;

namespace Wrenn.Silo.Plugins;

/// <summary>
/// Whether a plugin can run in this silo, read from its manifest and from the references compiled
/// into its assembly (without loading it): the same major and at most the same minor Wrenn.Abstractions
/// as the silo's, and no shared Microsoft.Extensions.* contract newer than the silo's (a newer one would
/// be loaded from the plugin's folder, and its types would not be the silo's).
/// </summary>
internal static class PluginCompatibility
{
    /// <summary>The Wrenn.Abstractions this silo was built with.</summary>
    public static Version HostAbstractions { get; } = typeof(IWrennPlugin).Assembly.GetName().Version!;

    /// <summary>Another major, or a newer minor, Wrenn.Abstractions, or a newer shared contract; null when the plugin can run.</summary>
    public static string? Problem(PluginManifest manifest, string directory)
    {
        var who = $"{manifest.Kind} plugin '{manifest.Name}'";
        if (!Version.TryParse(manifest.AbstractionsVersion, out var declared))
            return $"{who} declares abstractionsVersion '{manifest.AbstractionsVersion}', which is not a version like 1.2.";
        if (Incompatible(declared) is { } reason)
            return $"{who} is built for Wrenn.Abstractions {declared.Major}.{declared.Minor} (manifest) but this silo has {HostAbstractions.Major}.{HostAbstractions.Minor}: {reason}.";
        var assemblyPath = Path.Combine(directory, manifest.Assembly);
        if (!File.Exists(assemblyPath))
            return $"{who}: its assembly {assemblyPath} is missing.";
        var references = References(assemblyPath);
        if (!references.TryGetValue("Wrenn.Abstractions", out var compiled))
            return $"{who}: {manifest.Assembly} does not reference Wrenn.Abstractions, so it cannot be a Wrenn plugin.";
        if (Incompatible(compiled) is { } compiledReason)
            return $"{who} was compiled against Wrenn.Abstractions {compiled.Major}.{compiled.Minor} but this silo has {HostAbstractions.Major}.{HostAbstractions.Minor}: {compiledReason}.";
        foreach (var (name, version) in references.Where(r => PluginAssemblies.IsSharedName(r.Key)))
        {
            if (PluginAssemblies.HostVersionOf(name) is { } host && version > host)
                return $"{who} was compiled against {name} {version} but this silo has {host}: build the plugin against {host.Major}.{host.Minor} or older (the silo shares its own copy with every plugin).";
        }
        return null;
    }

    private static string? Incompatible(Version plugin) =>
        plugin.Major != HostAbstractions.Major ? "another major version; rebuild the plugin against this one"
        : plugin.Minor > HostAbstractions.Minor ? "a newer minor version; upgrade the silo or use an older build of the plugin"
        : null;

    /// <summary>The assembly's references by name, read from its metadata.</summary>
    private static Dictionary<string, Version> References(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var references = new Dictionary<string, Version>(StringComparer.Ordinal);
        foreach (var handle in metadata.AssemblyReferences)
        {
            var reference = metadata.GetAssemblyReference(handle);
            references[metadata.GetString(reference.Name)] = reference.Version;
        }
        return references;
    }
}
