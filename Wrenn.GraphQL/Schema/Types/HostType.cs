using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class HostType : ObjectGraphType<HostInfo>
{
    public HostType()
    {
        Name = "Host";
        Description = "A machine running a silo; sandboxes run on hosts.";
        Field<NonNullGraphType<StringGraphType>, string>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<IntGraphType>, int>("vcpus").Description("vCPUs it offers (cores × overcommit).").Resolve(c => c.Source.Capacity.Vcpus);
        Field<NonNullGraphType<IntGraphType>, int>("memoryMib").Resolve(c => c.Source.Capacity.MemoryMib);
        Field<NonNullGraphType<IntGraphType>, int>("reservedVcpus").Resolve(c => c.Source.Reserved.Vcpus);
        Field<NonNullGraphType<IntGraphType>, int>("reservedMemoryMib").Resolve(c => c.Source.Reserved.MemoryMib);
        Field<NonNullGraphType<FloatGraphType>, double>("diskMib").Description("Disk it offers to sandboxes.").Resolve(c => c.Source.Capacity.DiskMib);
        Field<NonNullGraphType<FloatGraphType>, double>("reservedDiskMib").Resolve(c => c.Source.Reserved.DiskMib);
        Field<NonNullGraphType<IntGraphType>, int>("sandboxes").Resolve(c => c.Source.Sandboxes);
        Field<NonNullGraphType<BooleanGraphType>, bool>("live").Resolve(c => c.Source.Live);
        Field<HostUsageType, HostUsage?>("usage").Description("Live use of the machine; null for a host that is not live.").Resolve(c => c.Source.Usage);
    }
}
