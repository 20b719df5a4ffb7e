using GraphQL.Types;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class TeamUsageType : ObjectGraphType<TeamUsageInfo>
{
    public TeamUsageType()
    {
        Name = "TeamUsage";
        Description = "What a team's sandboxes hold now, as its quota counts it.";
        Field<NonNullGraphType<IntGraphType>, int>("runningSandboxes").Description("Running, starting and resuming sandboxes.").Resolve(c => c.Source.RunningSandboxes);
        Field<NonNullGraphType<IntGraphType>, int>("vcpus").Description("vCPUs of those sandboxes.").Resolve(c => c.Source.Vcpus);
        Field<NonNullGraphType<IntGraphType>, int>("memoryMib").Description("Memory of those sandboxes.").Resolve(c => c.Source.MemoryMib);
        Field<NonNullGraphType<IntGraphType>, int>("pausedSandboxes").Resolve(c => c.Source.PausedSandboxes);
    }
}
