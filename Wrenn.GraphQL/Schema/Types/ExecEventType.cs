using GraphQL.Types;

namespace Wrenn.GraphQL.Schema.Types;

/// <summary>One event of execStream: text output (cut at line ends) or the exit.</summary>
public sealed record ExecStreamEvent(ExecStreamEventKind Type, string? Data, int? ExitCode);

public sealed class ExecEventType : ObjectGraphType<ExecStreamEvent>
{
    public ExecEventType()
    {
        Name = "ExecEvent";
        Description = "Output as it comes (text cut at line ends), then the exit.";
        Field<NonNullGraphType<ExecEventKindType>, ExecStreamEventKind>("type").Resolve(c => c.Source.Type);
        Field<StringGraphType, string?>("data").Resolve(c => c.Source.Data);
        Field<IntGraphType, int?>("exitCode").Resolve(c => c.Source.ExitCode);
    }
}
