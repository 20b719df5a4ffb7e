using Microsoft.Extensions.Configuration;
using Wrenn.Silo.Cli;

namespace Wrenn.Silo.Hosting;

/// <summary>Where a silo looks for plugins, earlier folders first.</summary>
public static class PluginSearchPath
{
    /// <summary>
    /// <c>plugins/</c> beside the wrenn binary (an installation), then <c>{data-dir}/plugins</c> (what an
    /// operator drops in), then <c>Wrenn:Plugins:Paths</c> (comma-separated), then the checkout's
    /// <c>artifacts/plugins</c>, where the build puts the project's own plugins.
    /// </summary>
    public static IReadOnlyList<string> For(string dataDir, IConfiguration configuration)
    {
        var paths = new List<string>
        {
            Path.Combine(AppContext.BaseDirectory, "plugins"),
            Path.Combine(dataDir, "plugins"),
        };
        if (configuration["Wrenn:Plugins:Paths"] is { Length: > 0 } extra)
            paths.AddRange(extra.Split([',', ':'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        paths.Add(Path.Combine(WrennPaths.Root, "artifacts", "plugins"));
        return paths.Select(Path.GetFullPath).Distinct().ToList();
    }
}
