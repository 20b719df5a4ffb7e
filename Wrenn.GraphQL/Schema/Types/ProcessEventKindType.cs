using GraphQL.Types;

namespace Wrenn.GraphQL.Schema.Types;

public enum ProcessStreamEventKind { Stdout, Stderr, Pty, Exit }

/// <summary>The enum the schema calls <c>ProcessEventType</c> (the C# name <see cref="ProcessEventType"/> is the object type <c>ProcessEvent</c>).</summary>
public sealed class ProcessEventKindType : EnumerationGraphType<ProcessStreamEventKind>
{
    public ProcessEventKindType()
    {
        Name = "ProcessEventType";
        Describe(ProcessStreamEventKind.Pty, "Output of a process on a terminal.");
    }

    private void Describe(ProcessStreamEventKind value, string description) => Values.FindByValue(value)!.Description = description;
}
