using GraphQL.Types;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class TeamQuotaType : ObjectGraphType<TeamQuotaInfo>
{
    public TeamQuotaType()
    {
        Name = "TeamQuota";
        Description = "What a team may use at once; null is no limit. Creates and resumes past it are RESOURCE_EXHAUSTED.";
        Field<IntGraphType, int?>("maxRunningSandboxes").Description("Sandboxes running at once (starting and resuming ones count).").Resolve(c => c.Source.MaxRunningSandboxes);
        Field<IntGraphType, int?>("maxVcpus").Description("vCPUs of its running sandboxes together.").Resolve(c => c.Source.MaxVcpus);
        Field<IntGraphType, int?>("maxMemoryMib").Description("Memory of its running sandboxes together.").Resolve(c => c.Source.MaxMemoryMib);
        Field<IntGraphType, int?>("maxPausedSandboxes").Description("Sandboxes paused at once.").Resolve(c => c.Source.MaxPausedSandboxes);
    }
}
