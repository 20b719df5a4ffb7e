using GraphQL.Types;

namespace Wrenn.GraphQL.Schema.Types;

/// <summary>One event of processOutput: terminal bytes (base64), text cut at line ends (UTF-8), or the exit.</summary>
public sealed record ProcessStreamEvent(ProcessStreamEventKind Type, string? Data, FileEncoding? Encoding, int? ExitCode);

public sealed class ProcessEventType : ObjectGraphType<ProcessStreamEvent>
{
    public ProcessEventType()
    {
        Name = "ProcessEvent";
        Description = "A process's output as it comes (first the retained last 1 MiB), then its exit.";
        Field<NonNullGraphType<ProcessEventKindType>, ProcessStreamEventKind>("type").Resolve(c => c.Source.Type);
        Field<StringGraphType, string?>("data").Description("PTY: the terminal's bytes, base64. STDOUT, STDERR: UTF-8 text, cut at line ends.").Resolve(c => c.Source.Data);
        Field<FileEncodingType, FileEncoding?>("encoding").Description("How data is encoded (null for EXIT).").Resolve(c => c.Source.Encoding);
        Field<IntGraphType, int?>("exitCode").Description("EXIT: 128 + the signal if a signal ended it.").Resolve(c => c.Source.ExitCode);
    }
}
