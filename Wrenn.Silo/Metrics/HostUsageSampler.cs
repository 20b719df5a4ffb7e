using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Grains;

namespace Wrenn.Silo.Metrics;

/// <summary>
/// This host's live use, sampled every <c>SampleEvery</c>: the machine's CPU (busy share of all its
/// cores over the last interval, /proc/stat), memory (MemTotal − MemAvailable), the disk of the data
/// folder, and its running VMs with their VMMs' PSS (from the sandboxes' own latest samples).
/// With metrics off it is read on demand instead (its CPU then averaged since the host booted).
/// </summary>
public sealed class HostUsageSampler(IOptions<MetricsOptions> options, HostFacts facts, SandboxTelemetry telemetry) : BackgroundService
{
    private (ulong Busy, ulong All)? _previousCpu;
    private HostUsage? _latest;

    public HostUsage Current => _latest ?? Sample();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
            return;
        using var timer = new PeriodicTimer(options.Value.SampleEvery);
        do
        {
            _latest = Sample();
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private HostUsage Sample()
    {
        var cpu = ReadCpu();
        var previous = _previousCpu ?? (0, 0);
        var all = cpu.All - Math.Min(cpu.All, previous.All);
        var busy = cpu.Busy - Math.Min(cpu.Busy, previous.Busy);
        _previousCpu = cpu;
        var running = telemetry.Running;
        return new HostUsage(
            CpuPercent: all > 0 ? Math.Round(100.0 * busy / all, 2) : 0,
            MemoryUsedMib: ReadMemoryUsedMib(),
            DiskUsedMib: facts.UsedDiskMib,
            RunningVms: running.Count,
            VmmMemoryMib: running.Sum(s => s.HostMemoryMib),
            SampledAt: DateTimeOffset.UtcNow);
    }

    private static (ulong Busy, ulong All) ReadCpu()
    {
        var line = File.ReadLines("/proc/stat").First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
        var f = line[4..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(8).Select(ulong.Parse).ToArray();
        var busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
        return (busy, busy + f[3] + f[4]);
    }

    private static int ReadMemoryUsedMib()
    {
        long total = 0, available = 0;
        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                total = long.Parse(line[9..].Trim().Split(' ')[0]);
            else if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                available = long.Parse(line[13..].Trim().Split(' ')[0]);
        }
        return (int)((total - available) / 1024);
    }
}
