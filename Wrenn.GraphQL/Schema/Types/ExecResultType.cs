using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class ExecResultType : ObjectGraphType<ExecOutcome>
{
    public ExecResultType()
    {
        Name = "ExecResult";
        Field<NonNullGraphType<IntGraphType>, int>("exitCode").Resolve(c => c.Source.ExitCode);
        Field<NonNullGraphType<StringGraphType>, string>("stdout").Resolve(c => c.Source.Stdout);
        Field<NonNullGraphType<StringGraphType>, string>("stderr").Resolve(c => c.Source.Stderr);
    }
}
