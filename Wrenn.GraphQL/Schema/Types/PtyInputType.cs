using GraphQL.Types;

namespace Wrenn.GraphQL.Schema.Types;

public sealed record PtyInput
{
    public int Cols { get; init; }

    public int Rows { get; init; }
}

public sealed class PtyInputType : InputObjectGraphType<PtyInput>
{
    public PtyInputType()
    {
        Name = "PtyInput";
        Description = "A pseudo-terminal of this size (1 to 1000 each way): the process's stdin, stdout and stderr are the terminal, TERM is set.";
        Field<NonNullGraphType<IntGraphType>>("cols");
        Field<NonNullGraphType<IntGraphType>>("rows");
    }
}
