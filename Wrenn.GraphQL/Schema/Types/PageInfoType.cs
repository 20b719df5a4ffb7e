using GraphQL.Types;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class PageInfoType : ObjectGraphType<SandboxPage>
{
    public PageInfoType()
    {
        Name = "PageInfo";
        Field<NonNullGraphType<BooleanGraphType>, bool>("hasNextPage").Resolve(c => c.Source.HasNextPage);
        Field<StringGraphType, string?>("endCursor").Resolve(c => c.Source.Sandboxes.Count > 0 ? c.Source.Sandboxes[^1].Id : null);
    }
}
