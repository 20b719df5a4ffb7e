using System.CommandLine;

namespace Wrenn.Silo.Cli;

/// <summary>The subcommands of <c>wrenn</c>, each in a file of its own.</summary>
internal static class WrennCommands
{
    public static IEnumerable<Command> All()
    {
        yield return RunCommand.Create();
        yield return DemoCommand.Create();
        yield return AdminCommands.Teams();
        yield return AdminCommands.Keys();
        yield return PluginsCommand.Create();
    }
}
