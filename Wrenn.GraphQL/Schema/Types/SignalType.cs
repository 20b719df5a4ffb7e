using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class SignalType : EnumerationGraphType
{
    public SignalType()
    {
        Name = "Signal";
        Description = "A signal for a process's whole group.";
        // Named by hand: GraphQL.NET's naming would make Usr1 USR_1.
        Add("HUP", ProcessSignal.Hup);
        Add("INT", ProcessSignal.Int, "What ^C sends.");
        Add("QUIT", ProcessSignal.Quit);
        Add("KILL", ProcessSignal.Kill, "Cannot be caught.");
        Add("TERM", ProcessSignal.Term);
        Add("STOP", ProcessSignal.Stop, "Cannot be caught; CONT goes on.");
        Add("CONT", ProcessSignal.Cont);
        Add("USR1", ProcessSignal.Usr1);
        Add("USR2", ProcessSignal.Usr2);
    }
}
