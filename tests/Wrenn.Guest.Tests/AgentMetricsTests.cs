using System.Diagnostics;
using Wrenn.Guest.Protocol;

namespace Wrenn.Guest.Tests;

/// <summary>
/// The agent's Metrics service, against the published agent binary running on the host: it reads
/// the host's own /proc and root filesystem, so each answer is checked against the same sources.
/// </summary>
public sealed class AgentMetricsTests(AgentProcessFixture agent) : IClassFixture<AgentProcessFixture>
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);

    [Fact]
    public async Task A_sample_reports_the_memory_cpus_and_root_filesystem_the_kernel_reports()
    {
        using var client = agent.NewClient();
        var sample = await client.SampleAsync(Ct);
        var meminfo = File.ReadAllLines("/proc/meminfo").ToDictionary(l => l[..l.IndexOf(':')], l => ulong.Parse(l[(l.IndexOf(':') + 1)..].Trim().Split(' ')[0]) * 1024);
        Assert.Equal(meminfo["MemTotal"], sample.MemoryTotalBytes);
        Assert.InRange(sample.MemoryAvailableBytes, 1UL, sample.MemoryTotalBytes);
        Assert.Equal((uint)File.ReadAllLines("/proc/stat").Count(l => l.StartsWith("cpu") && l.Length > 3 && l[3] != ' '), sample.Cpus);
        var root = new DriveInfo("/");
        Assert.Equal((ulong)root.TotalSize, sample.DiskTotalBytes);
        Assert.InRange(sample.DiskFreeBytes, 0UL, sample.DiskTotalBytes);
        Assert.Equal(100u, sample.TicksPerSecond);
        Assert.InRange(DateTimeOffset.FromUnixTimeMilliseconds(sample.UnixMs), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Network_counters_name_every_interface_but_loopback()
    {
        using var client = agent.NewClient();
        var sample = await client.SampleAsync(Ct);
        var expected = File.ReadAllLines("/proc/net/dev").Skip(2).Select(l => l[..l.IndexOf(':')].Trim()).Where(n => n != "lo").Order().ToList();
        Assert.Equal(expected, sample.Network.Select(n => n.Name).Order().ToList());
    }

    [Fact]
    public async Task Cpu_time_grows_between_samples_and_busy_time_follows_a_busy_loop()
    {
        using var client = agent.NewClient();
        var before = await client.SampleAsync(Ct);
        // Half a second of a busy loop on this machine: busy ticks must grow by some of it.
        var clock = Stopwatch.StartNew();
        while (clock.ElapsedMilliseconds < 500)
            Thread.SpinWait(1000);
        var after = await client.SampleAsync(Ct);
        static ulong Busy(Protocol.V1.CpuTimes c) => c.User + c.Nice + c.System + c.Irq + c.Softirq + c.Steal;
        static ulong All(Protocol.V1.CpuTimes c) => Busy(c) + c.Idle + c.Iowait;
        Assert.True(All(after.Cpu) > All(before.Cpu), "total CPU time did not grow");
        Assert.True(Busy(after.Cpu) > Busy(before.Cpu), "busy CPU time did not grow across a busy loop");
    }

    [Fact]
    public async Task The_agent_lists_the_metrics_capability()
    {
        using var client = agent.NewClient();
        Assert.Contains(AgentEndpoint.Capabilities.Metrics, (await client.HealthAsync(Ct)).Capabilities);
    }
}
