using System.Text;
using Wrenn.Abstractions.Plugins;

namespace Wrenn.Silo.Plugins;

/// <summary>A plugin folder found on the search path, and what became of it.</summary>
public sealed record FoundPlugin(PluginManifest Manifest, string Directory, bool Chosen, string Why);

/// <summary>What <c>wrenn plugins</c> shows: every plugin found, which one serves each kind, and why.</summary>
public sealed record PluginReport(IReadOnlyList<string> SearchPath, IReadOnlyList<FoundPlugin> Found, IReadOnlyList<string> Problems)
{
    public string Render(IReadOnlyDictionary<string, IReadOnlyList<string>>? diagnostics = null)
    {
        var text = new StringBuilder();
        text.AppendLine("Plugin search path (earlier folders win):");
        foreach (var path in SearchPath)
            text.AppendLine($"  {path}{(Directory.Exists(path) ? "" : "  (missing)")}");
        foreach (var kind in Enum.GetValues<PluginKind>())
        {
            text.AppendLine().AppendLine($"{kind}:");
            var ofKind = Found.Where(f => f.Manifest.Kind == kind).ToList();
            if (ofKind.Count == 0)
                text.AppendLine("  (none found)");
            foreach (var plugin in ofKind)
            {
                text.AppendLine($"  {(plugin.Chosen ? "*" : " ")} {plugin.Manifest.Name,-14} {plugin.Why}");
                text.AppendLine($"    {plugin.Directory}");
                if (plugin.Manifest.Description is { } description)
                    text.AppendLine($"    {description}");
                foreach (var lack in diagnostics?.GetValueOrDefault(plugin.Directory) ?? [])
                    text.AppendLine($"    ! {lack}");
            }
        }
        if (Problems.Count > 0)
        {
            text.AppendLine().AppendLine("Problems (the silo refuses to start):");
            foreach (var problem in Problems)
                text.AppendLine($"  - {problem}");
        }
        return text.ToString();
    }
}

/// <summary>The chosen plugins cannot work: each problem names the plugin and the reason.</summary>
public sealed class PluginLoadException(PluginReport report)
    : Exception("The plugins cannot be loaded:\n" + string.Join("\n", report.Problems.Select(p => "  - " + p)) + "\nRun `wrenn plugins` to see what was found.")
{
    public PluginReport Report { get; } = report;
}
