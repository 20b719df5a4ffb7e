namespace Wrenn.Abstractions.Plugins;

/// <summary>
/// Optional (since 1.1): a plugin that can tell what it lacks on this host (a missing binary, a
/// missing device) registers one; <c>wrenn plugins</c> shows the answers next to the plugin.
/// </summary>
public interface IPluginDiagnostics
{
    /// <summary>Problems that keep the plugin from working here, each a sentence saying what to do; empty when it can work.</summary>
    IReadOnlyList<string> Check();
}
