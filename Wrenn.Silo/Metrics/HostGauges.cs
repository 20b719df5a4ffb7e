using System.Diagnostics.Metrics;
using Orleans;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Cluster;

namespace Wrenn.Silo.Metrics;

/// <summary>
/// The gauges of this host: sandboxes by state, capacity, reservations and live use. Observable
/// instruments are read synchronously by the exporter, so <see cref="RefreshAsync"/> (called by the
/// scrape before it is served) asks the database and the host grain, and the gauges report that.
/// </summary>
public sealed class HostGauges
{
    private const double Mib = 1024 * 1024;
    private readonly SandboxCounts _counts;
    private readonly IGrainFactory _grains;
    private readonly ClusterHosts _hosts;
    private HostInfo? _host;

    public HostGauges(WrennMeters meters, SandboxCounts counts, IGrainFactory grains, ClusterHosts hosts)
    {
        _counts = counts;
        _grains = grains;
        _hosts = hosts;
        var meter = meters.Meter;
        meter.CreateObservableGauge("wrenn.sandboxes", () => _counts.ByState.Select(c => new Measurement<long>(c.Value, new KeyValuePair<string, object?>("state", c.Key.ToString().ToLowerInvariant()))),
            "{sandbox}", "Sandboxes on this host by state (ended ones included).");
        Gauge(meter, "wrenn.host.vcpus", "{vcpu}", "vCPUs this host offers (cores × overcommit).", h => h.Capacity.Vcpus);
        Gauge(meter, "wrenn.host.vcpus.reserved", "{vcpu}", "vCPUs reserved by running sandboxes.", h => h.Reserved.Vcpus);
        Gauge(meter, "wrenn.host.memory.capacity", "By", "Memory this host offers to sandboxes.", h => h.Capacity.MemoryMib * Mib);
        Gauge(meter, "wrenn.host.memory.reserved", "By", "Memory reserved by running sandboxes.", h => h.Reserved.MemoryMib * Mib);
        Gauge(meter, "wrenn.host.disk.capacity", "By", "Disk this host offers to sandboxes.", h => h.Capacity.DiskMib * Mib);
        Gauge(meter, "wrenn.host.disk.reserved", "By", "Disk reserved by running sandboxes.", h => h.Reserved.DiskMib * Mib);
        Gauge(meter, "wrenn.host.cpu.utilization", "1", "The machine's busy share of all its cores over the last sampling interval (0–1).", h => (h.Usage?.CpuPercent ?? 0) / 100);
        Gauge(meter, "wrenn.host.memory.used", "By", "The machine's memory in use (MemTotal − MemAvailable).", h => (h.Usage?.MemoryUsedMib ?? 0) * Mib);
        Gauge(meter, "wrenn.host.disk.used", "By", "Used space of the filesystem of the data folder.", h => (h.Usage?.DiskUsedMib ?? 0) * Mib);
        Gauge(meter, "wrenn.host.vms.running", "{vm}", "VMs running on this host.", h => h.Usage?.RunningVms ?? 0);
        Gauge(meter, "wrenn.host.vmm.memory", "By", "The VMM processes' PSS, added up.", h => (h.Usage?.VmmMemoryMib ?? 0) * Mib);
    }

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _counts.RefreshAsync(_hosts.Local, cancellationToken);
        _host = await _grains.GetGrain<IHostSlotGrain>(_hosts.Local).GetAsync(Caller.System);
    }

    private void Gauge(Meter meter, string name, string unit, string description, Func<HostInfo, double> value) =>
        meter.CreateObservableGauge(name, () => _host is { } host ? [new Measurement<double>(value(host))] : Array.Empty<Measurement<double>>(), unit, description);
}
