using System.CommandLine;
using Wrenn.Silo.Cli;

// `wrenn`: the silo and its command line. scripts/wrenn builds and runs this.
var root = new RootCommand("Wrenn: microVM sandboxes for untrusted code, driven through GraphQL.");
foreach (var command in WrennCommands.All())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
