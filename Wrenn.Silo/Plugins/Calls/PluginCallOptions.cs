namespace Wrenn.Silo.Plugins.Calls;

/// <summary>How plugin calls are logged (<c>Wrenn:PluginCalls</c>).</summary>
public sealed class PluginCallOptions
{
    /// <summary>A call that takes longer is logged at Warning with the plugin's name (<c>Wrenn:PluginCalls:SlowAfter</c>, e.g. "00:00:10").</summary>
    public TimeSpan SlowAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Throws naming the setting when a value cannot work.</summary>
    public void Validate()
    {
        if (SlowAfter <= TimeSpan.Zero)
            throw new ArgumentException($"Wrenn:PluginCalls:SlowAfter must be positive (it is {SlowAfter}).");
    }
}
