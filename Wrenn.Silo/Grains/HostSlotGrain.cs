using Microsoft.Extensions.Options;
using Wrenn.Grains.Runtime;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Runtime.Grains;
using Wrenn.Silo.Runtime.State;

namespace Wrenn.Silo.Grains;

/// <summary>How much a host offers (configuration <c>Wrenn:Capacity</c>).</summary>
public sealed record CapacityOptions
{
    /// <summary>vCPUs are overcommitted up to cores × this.</summary>
    public int CpuOvercommit { get; init; } = 8;

    /// <summary>Host RAM kept for the host itself (the silo, PostgreSQL, page cache).</summary>
    public int MemoryMarginMib { get; init; } = 1024;

    /// <summary>Disk counted per sandbox for its overlay.</summary>
    public long DiskPerSandboxMib { get; init; } = 2048;

    /// <summary>Overrides for tests and odd hosts; null measures the machine.</summary>
    public int? Vcpus { get; init; }

    public int? MemoryMib { get; init; }

    public long? DiskMib { get; init; }
}

/// <summary>One per silo: the host's capacity and what sandboxes have reserved of it (durable).</summary>
public sealed class HostSlotGrain(IOptions<CapacityOptions> options, HostFacts facts) : Grain, IHostSlotGrain
{
    private IPersistentState<Reservations> _reservations = null!;

    public sealed class Reservations
    {
        public Dictionary<string, HostCapacity> BySandbox { get; set; } = [];
    }

    private HostCapacity Capacity => new(
        options.Value.Vcpus ?? Environment.ProcessorCount * options.Value.CpuOvercommit,
        options.Value.MemoryMib ?? Math.Max(0, facts.MemoryMib - options.Value.MemoryMarginMib),
        options.Value.DiskMib ?? facts.FreeDiskMib);

    public override async Task OnActivateAsync(CancellationToken cancellationToken) =>
        _reservations = await Context.GetStateAsync<Reservations>("reservations", cancellationToken);

    public Task<HostInfo> GetAsync(Caller caller) => Task.FromResult(new HostInfo(Context.Id.Key, Capacity, Reserved(), _reservations.State.BySandbox.Count, Live: true));

    private static void RequireSilo(Caller caller)
    {
        if (!caller.IsSystem)
            throw new GrainException(ErrorCodes.PermissionDenied, "Only the silo reserves and releases host capacity; create a sandbox instead.");
    }

    private HostCapacity Reserved() => new(
        _reservations.State.BySandbox.Values.Sum(r => r.Vcpus),
        _reservations.State.BySandbox.Values.Sum(r => r.MemoryMib),
        _reservations.State.BySandbox.Values.Sum(r => r.DiskMib));

    public async Task ReserveAsync(Caller caller, string sandboxId, int vcpus, int memoryMib, long diskMib)
    {
        RequireSilo(caller);
        if (_reservations.State.BySandbox.ContainsKey(sandboxId))
            return;
        var capacity = Capacity;
        var reserved = Reserved();
        var shortOf = new List<string>();
        if (reserved.Vcpus + vcpus > capacity.Vcpus)
            shortOf.Add($"{vcpus} vCPUs asked, {capacity.Vcpus - reserved.Vcpus} of {capacity.Vcpus} free");
        if (reserved.MemoryMib + memoryMib > capacity.MemoryMib)
            shortOf.Add($"{memoryMib} MiB of memory asked, {capacity.MemoryMib - reserved.MemoryMib} of {capacity.MemoryMib} MiB free");
        if (reserved.DiskMib + diskMib > capacity.DiskMib)
            shortOf.Add($"{diskMib} MiB of disk asked, {capacity.DiskMib - reserved.DiskMib} MiB free");
        if (shortOf.Count > 0)
            throw new GrainException(ErrorCodes.ResourceExhausted, $"Host {Context.Id.Key} cannot fit the sandbox: {string.Join("; ", shortOf)}. Destroy sandboxes or add hosts.");
        _reservations.State.BySandbox[sandboxId] = new HostCapacity(vcpus, memoryMib, diskMib);
        await _reservations.WriteAsync(CancellationToken.None);
    }

    public async Task ReleaseAsync(Caller caller, string sandboxId)
    {
        RequireSilo(caller);
        if (_reservations.State.BySandbox.Remove(sandboxId))
            await _reservations.WriteAsync(CancellationToken.None);
    }
}

/// <summary>What the machine has, measured once.</summary>
public sealed class HostFacts(string dataDir)
{
    public int MemoryMib { get; } = ReadMemTotalMib();

    public long FreeDiskMib => new DriveInfo(Path.GetPathRoot(Path.GetFullPath(dataDir)) ?? "/").AvailableFreeSpace / (1024 * 1024);

    private static int ReadMemTotalMib()
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                return (int)(long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024);
        }
        return 0;
    }
}
