using GraphQL.Types;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class SandboxConnectionType : ObjectGraphType<SandboxPage>
{
    public SandboxConnectionType()
    {
        Name = "SandboxConnection";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<SandboxEdgeType>>>, IReadOnlyList<SandboxInfo>>("edges").Resolve(c => c.Source.Sandboxes);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<SandboxType>>>, IReadOnlyList<SandboxInfo>>("nodes").Resolve(c => c.Source.Sandboxes);
        Field<NonNullGraphType<PageInfoType>, SandboxPage>("pageInfo").Resolve(c => c.Source);
    }
}
