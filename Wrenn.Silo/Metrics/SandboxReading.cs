using Wrenn.Grains.Sandboxes;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Silo.Metrics;

/// <summary>
/// One raw reading of a running sandbox: the guest's counters (its agent) and its VMM process's
/// (the host's /proc), with the host's monotonic time. Two readings make a <see cref="SandboxMetrics"/>.
/// </summary>
public sealed record SandboxReading(GuestSample Guest, ProcessStats? Vmm, long MonotonicMs, DateTimeOffset At)
{
    private const double Mib = 1024 * 1024;

    /// <summary>
    /// The sandbox over the interval from <paramref name="previous"/> to this reading (without one:
    /// since the guest booted and the VMM started).
    /// </summary>
    public SandboxMetrics Since(SandboxReading? previous, int vcpus)
    {
        var cpu = Guest.Cpu ?? new CpuTimes();
        var before = previous?.Guest.Cpu ?? new CpuTimes();
        var busy = (double)(Busy(cpu) - Math.Min(Busy(cpu), Busy(before)));
        var all = (double)(All(cpu) - Math.Min(All(cpu), All(before)));
        var cpuPercent = all > 0 ? Math.Clamp(100 * busy / all, 0, 100) : 0;

        var hostCpuPercent = 0.0;
        if (Vmm is { } vmm)
        {
            double ticks, seconds;
            if (previous?.Vmm is { } earlier && earlier.StartTicks == vmm.StartTicks)
            {
                ticks = vmm.CpuTicks - earlier.CpuTicks;
                seconds = (MonotonicMs - previous.MonotonicMs) / 1000.0;
            }
            else
            {
                // No earlier reading of this process: its average since it started (boot time is in ticks since the host booted).
                ticks = vmm.CpuTicks;
                seconds = Environment.TickCount64 / 1000.0 - (double)vmm.StartTicks / ProcessStats.TicksPerSecond;
            }
            if (seconds > 0)
                hostCpuPercent = Math.Max(0, 100 * ticks / ProcessStats.TicksPerSecond / seconds / Math.Max(1, vcpus));
        }

        return new SandboxMetrics(
            CpuPercent: Math.Round(cpuPercent, 2),
            MemoryUsedMib: (int)((Guest.MemoryTotalBytes - Math.Min(Guest.MemoryTotalBytes, Guest.MemoryAvailableBytes)) / Mib),
            MemoryTotalMib: (int)(Guest.MemoryTotalBytes / Mib),
            DiskUsedMib: (int)((Guest.DiskTotalBytes - Math.Min(Guest.DiskTotalBytes, Guest.DiskFreeBytes)) / Mib),
            DiskTotalMib: (int)(Guest.DiskTotalBytes / Mib),
            NetRxBytes: Guest.Network.Sum(n => (double)n.RxBytes),
            NetTxBytes: Guest.Network.Sum(n => (double)n.TxBytes),
            HostCpuPercent: Math.Round(hostCpuPercent, 2),
            HostMemoryMib: (int)((Vmm?.PssKib ?? 0) / 1024),
            SampledAt: At);
    }

    internal static ulong Busy(CpuTimes c) => c.User + c.Nice + c.System + c.Irq + c.Softirq + c.Steal;

    internal static ulong All(CpuTimes c) => Busy(c) + c.Idle + c.Iowait;
}
