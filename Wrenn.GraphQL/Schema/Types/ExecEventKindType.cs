using GraphQL.Types;

namespace Wrenn.GraphQL.Schema.Types;

public enum ExecStreamEventKind { Stdout, Stderr, Exit }

/// <summary>The enum the schema calls <c>ExecEventType</c> (the C# name <see cref="ExecEventType"/> is the object type <c>ExecEvent</c>).</summary>
public sealed class ExecEventKindType : EnumerationGraphType<ExecStreamEventKind>
{
    public ExecEventKindType() => Name = "ExecEventType";
}
