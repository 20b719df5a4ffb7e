using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Wrenn.Silo.Hosting;
using Wrenn.Silo.Plugins;

namespace Wrenn.Silo.Cli;

/// <summary><c>wrenn plugins</c>: what was found on the search path, what is chosen for each kind, and why.</summary>
internal static class PluginsCommand
{
    public static Command Create()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "The silo's data folder (its plugins/ folder is searched).", DefaultValueFactory = _ => RunCommand.DefaultDataDir() };
        var command = new Command("plugins", "List the plugins found, the one chosen for each kind, and why; problems that would stop the silo.") { dataDir };
        command.SetAction(parse =>
        {
            var configuration = WrennConfiguration.Build();
            var data = Path.GetFullPath(parse.GetValue(dataDir)!);
            var report = PluginLoader.Inspect(PluginSearchPath.For(data, configuration), configuration);
            var host = new Wrenn.Abstractions.Plugins.PluginHost("wrplug", data, "/run/wrenn/wrplug", "/run/wrenn", "/var/cache/wrenn");
            Console.Write(report.Render(PluginLoader.Diagnose(report, configuration, host)));
            return report.Problems.Count == 0 ? 0 : 1;
        });
        return command;
    }
}

/// <summary>Configuration from the environment: <c>Wrenn__Plugins__Vmm=qemu</c> sets <c>Wrenn:Plugins:Vmm</c>.</summary>
internal static class WrennConfiguration
{
    public static IConfiguration Build() => new ConfigurationBuilder().AddEnvironmentVariables().Build();
}
