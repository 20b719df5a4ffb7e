using System.CommandLine;

namespace Wrenn.Silo.Cli;

/// <summary>The subcommands of <c>wrenn</c>, each in a file of its own.</summary>
internal static class WrennCommands
{
    public static IEnumerable<Command> All()
    {
        yield return DemoCommand.Create();
    }
}
