using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class ProcessType : ObjectGraphType<ProcessEntry>
{
    public ProcessType()
    {
        Name = "Process";
        Description = "A process started with startProcess (or a command running now); an ended one stays listed with its exit code for 10 minutes.";
        Field<NonNullGraphType<IntGraphType>, int>("pid").Resolve(c => c.Source.Pid);
        Field<StringGraphType, string?>("tag").Description("The label given at start.").Resolve(c => c.Source.Tag);
        Field<NonNullGraphType<StringGraphType>, string>("command").Resolve(c => c.Source.Command);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>, IReadOnlyList<string>>("args").Resolve(c => c.Source.Args);
        Field<NonNullGraphType<BooleanGraphType>, bool>("pty").Description("It runs on a pseudo-terminal.").Resolve(c => c.Source.Pty);
        Field<NonNullGraphType<DateTimeType>, DateTimeOffset>("startedAt").Description("By the guest's clock.").Resolve(c => c.Source.StartedAt);
        Field<IntGraphType, int?>("exitCode").Description("Set once it has ended (128 + the signal if a signal ended it).").Resolve(c => c.Source.ExitCode);
    }
}
