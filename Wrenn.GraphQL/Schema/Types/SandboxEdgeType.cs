using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class SandboxEdgeType : ObjectGraphType<SandboxInfo>
{
    public SandboxEdgeType()
    {
        Name = "SandboxEdge";
        Field<NonNullGraphType<StringGraphType>, string>("cursor").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<SandboxType>, SandboxInfo>("node").Resolve(c => c.Source);
    }
}
