namespace Wrenn.Grains.Sandboxes;

/// <summary>
/// A running sandbox over one sampling interval, seen from the guest (its agent's counters) and from
/// the host (its VMM process). Rates (CPU) cover the interval that ended at <see cref="SampledAt"/>;
/// network bytes are counters since the guest booted.
/// </summary>
/// <param name="CpuPercent">The guest's busy CPU time over all its vCPUs, 0–100.</param>
/// <param name="MemoryUsedMib">MemTotal − MemAvailable in the guest.</param>
/// <param name="HostCpuPercent">The VMM process's CPU time as a share of the sandbox's vCPUs (emulation and I/O threads can take it past 100).</param>
/// <param name="HostMemoryMib">The VMM process's proportional set size (PSS).</param>
[GenerateSerializer]
[Alias("wrenn.SandboxMetrics")]
public sealed record SandboxMetrics(
    [Id(0)] double CpuPercent,
    [Id(1)] int MemoryUsedMib,
    [Id(2)] int MemoryTotalMib,
    [Id(3)] int DiskUsedMib,
    [Id(4)] int DiskTotalMib,
    [Id(5)] double NetRxBytes,
    [Id(6)] double NetTxBytes,
    [Id(7)] double HostCpuPercent,
    [Id(8)] int HostMemoryMib,
    [Id(9)] DateTimeOffset SampledAt);
