using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class HostUsageType : ObjectGraphType<HostUsage>
{
    public HostUsageType()
    {
        Name = "HostUsage";
        Description = "What a host's machine uses now.";
        Field<NonNullGraphType<FloatGraphType>, double>("cpuPercent").Description("Busy share of all the machine's cores over the last sampling interval, 0–100.").Resolve(c => c.Source.CpuPercent);
        Field<NonNullGraphType<IntGraphType>, int>("memoryUsedMib").Description("The machine's MemTotal − MemAvailable.").Resolve(c => c.Source.MemoryUsedMib);
        Field<NonNullGraphType<FloatGraphType>, double>("diskUsedMib").Description("Used space of the filesystem holding the silo's data.").Resolve(c => c.Source.DiskUsedMib);
        Field<NonNullGraphType<IntGraphType>, int>("runningVms").Resolve(c => c.Source.RunningVms);
        Field<NonNullGraphType<IntGraphType>, int>("vmmMemoryMib").Description("The PSS of its VMM processes, added up.").Resolve(c => c.Source.VmmMemoryMib);
        Field<NonNullGraphType<DateTimeType>, DateTimeOffset>("sampledAt").Resolve(c => c.Source.SampledAt);
    }
}
