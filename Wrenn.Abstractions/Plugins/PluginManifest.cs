namespace Wrenn.Abstractions.Plugins;

/// <summary>The kinds of plugin a silo composes; configuration picks one of each.</summary>
public enum PluginKind
{
    Vmm,
    Storage,
    Network,
    Memory,
    Clock,
}

/// <summary>
/// The contents of a plugin's <c>plugin.json</c>, which sits beside its assemblies:
/// <code>
/// {
///   "name": "qemu",
///   "kind": "Vmm",
///   "assembly": "Wrenn.Plugins.Vmm.Qemu.dll",
///   "entryType": "Wrenn.Plugins.Vmm.Qemu.QemuPlugin",
///   "abstractionsVersion": "1.2",
///   "provides": [ "vmm:qemu", "memory-backing:file" ],
///   "requires": [ ]
/// }
/// </code>
/// </summary>
/// <param name="Name">Unique per kind; what configuration names (<c>Wrenn:Plugins:Vmm = "qemu"</c>).</param>
/// <param name="Kind">Which contract it implements.</param>
/// <param name="Assembly">The file (beside plugin.json) that holds <paramref name="EntryType"/>.</param>
/// <param name="EntryType">
/// Full name of a type implementing <see cref="IWrennPlugin"/>. Optional since 1.2: without it the silo
/// registers the plugin by convention (docs/plugins.md): its one public <see cref="IWrennPlugin"/> type
/// if it has one; otherwise every public class implementing its kind's contract, every public
/// <see cref="IPluginDiagnostics"/>, and every public class named <c>…Options</c> bound to the
/// plugin's configuration section.
/// </param>
/// <param name="AbstractionsVersion">
/// The Wrenn.Abstractions version (major.minor) it was built against. The silo refuses another
/// major version, and a minor version newer than its own.
/// </param>
/// <param name="Provides">Capabilities this plugin offers to others, e.g. <c>vmm:qemu</c>, <c>uffd</c>.</param>
/// <param name="Requires">Capabilities some other chosen plugin must provide, e.g. <c>vmm:qemu</c> for qcow2 storage.</param>
/// <param name="Description">One line for <c>wrenn plugins</c>.</param>
public sealed record PluginManifest(
    string Name,
    PluginKind Kind,
    string Assembly,
    string? EntryType,
    string AbstractionsVersion,
    IReadOnlyList<string>? Provides = null,
    IReadOnlyList<string>? Requires = null,
    string? Description = null);
