using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class ListeningPortType : ObjectGraphType<ListeningPort>
{
    public ListeningPortType()
    {
        Name = "ListeningPort";
        Description = "A TCP port something listens on in the guest.";
        Field<NonNullGraphType<IntGraphType>, int>("port").Resolve(c => c.Source.Port);
        Field<NonNullGraphType<StringGraphType>, string>("address").Description("The address it is bound to in the guest, e.g. 0.0.0.0, :: or 127.0.0.1.").Resolve(c => c.Source.Address);
        Field<NonNullGraphType<BooleanGraphType>, bool>("reachable")
            .Description("Whether port forwarding reaches it (false for a socket bound to loopback only).").Resolve(c => c.Source.Reachable);
        Field<IntGraphType, int?>("pid").Description("The guest process holding it, when found.").Resolve(c => c.Source.Pid);
        Field<StringGraphType, string?>("command").Description("That process's name.").Resolve(c => c.Source.Command);
    }
}
