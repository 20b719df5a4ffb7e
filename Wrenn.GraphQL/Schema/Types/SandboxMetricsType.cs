using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class SandboxMetricsType : ObjectGraphType<SandboxMetrics>
{
    public SandboxMetricsType()
    {
        Name = "SandboxMetrics";
        Description = "A running sandbox over its last sampling interval, from the guest (its agent) and from the host (its VMM process).";
        Field<NonNullGraphType<FloatGraphType>, double>("cpuPercent").Description("Busy CPU time over all its vCPUs, 0–100, over the last interval.").Resolve(c => c.Source.CpuPercent);
        Field<NonNullGraphType<IntGraphType>, int>("memoryUsedMib").Description("MemTotal − MemAvailable in the guest.").Resolve(c => c.Source.MemoryUsedMib);
        Field<NonNullGraphType<IntGraphType>, int>("memoryTotalMib").Resolve(c => c.Source.MemoryTotalMib);
        Field<NonNullGraphType<IntGraphType>, int>("diskUsedMib").Description("Used space of the guest's root filesystem.").Resolve(c => c.Source.DiskUsedMib);
        Field<NonNullGraphType<IntGraphType>, int>("diskTotalMib").Resolve(c => c.Source.DiskTotalMib);
        Field<NonNullGraphType<FloatGraphType>, double>("netRxBytes").Description("Bytes received by the guest since it booted (all interfaces but loopback).").Resolve(c => c.Source.NetRxBytes);
        Field<NonNullGraphType<FloatGraphType>, double>("netTxBytes").Description("Bytes sent by the guest since it booted (all interfaces but loopback).").Resolve(c => c.Source.NetTxBytes);
        Field<NonNullGraphType<FloatGraphType>, double>("hostCpuPercent")
            .Description("The VMM process's CPU time as a share of the sandbox's vCPUs over the last interval (emulation and I/O threads can take it past 100).")
            .Resolve(c => c.Source.HostCpuPercent);
        Field<NonNullGraphType<IntGraphType>, int>("hostMemoryMib").Description("The VMM process's proportional set size (PSS) on the host.").Resolve(c => c.Source.HostMemoryMib);
        Field<NonNullGraphType<DateTimeType>, DateTimeOffset>("sampledAt").Resolve(c => c.Source.SampledAt);
    }
}
