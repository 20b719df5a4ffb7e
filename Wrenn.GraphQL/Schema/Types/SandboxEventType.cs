using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class SandboxEventType : ObjectGraphType<SandboxInfo>
{
    public SandboxEventType()
    {
        Name = "SandboxEvent";
        Field<NonNullGraphType<SandboxType>, SandboxInfo>("sandbox").Resolve(c => c.Source);
        Field<NonNullGraphType<SandboxStateType>, ApiSandboxState>("state").Resolve(c => SandboxStateType.Of(c.Source.State));
    }
}
