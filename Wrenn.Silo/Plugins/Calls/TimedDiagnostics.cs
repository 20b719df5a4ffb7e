using Wrenn.Abstractions.Plugins;

namespace Wrenn.Silo.Plugins.Calls;

/// <summary>Times and logs a plugin's own check of what it lacks (<c>wrenn plugins</c>).</summary>
internal sealed class TimedDiagnostics(IPluginDiagnostics inner, PluginCallLog log) : IPluginDiagnostics
{
    public IReadOnlyList<string> Check() => log.Time(nameof(Check), log.Plugin, inner.Check);
}
