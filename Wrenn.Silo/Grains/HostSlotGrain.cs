using Microsoft.Extensions.Options;
using Orleans.Placement;
using Orleans.Runtime;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Cluster;
using Wrenn.Silo.Cluster.Placement;
using Wrenn.Silo.Data;
using Wrenn.Silo.Metrics;

namespace Wrenn.Silo.Grains;

/// <summary>How much a host offers (configuration <c>Wrenn:Capacity</c>).</summary>
public sealed record CapacityOptions
{
    public const string Section = "Wrenn:Capacity";

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

public sealed class CapacityOptionsValidator : IValidateOptions<CapacityOptions>
{
    public ValidateOptionsResult Validate(string? name, CapacityOptions options)
    {
        var errors = new List<string>();
        if (options.CpuOvercommit is < 1 or > 64)
            errors.Add($"{CapacityOptions.Section}:CpuOvercommit must be between 1 and 64 (got {options.CpuOvercommit}).");
        if (options.MemoryMarginMib < 0)
            errors.Add($"{CapacityOptions.Section}:MemoryMarginMib cannot be negative (got {options.MemoryMarginMib}).");
        if (options.DiskPerSandboxMib <= 0)
            errors.Add($"{CapacityOptions.Section}:DiskPerSandboxMib must be positive (got {options.DiskPerSandboxMib}).");
        if (options.Vcpus is <= 0)
            errors.Add($"{CapacityOptions.Section}:Vcpus must be positive when set (got {options.Vcpus}).");
        if (options.MemoryMib is <= 0)
            errors.Add($"{CapacityOptions.Section}:MemoryMib must be positive when set (got {options.MemoryMib}).");
        if (options.DiskMib is <= 0)
            errors.Add($"{CapacityOptions.Section}:DiskMib must be positive when set (got {options.DiskMib}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// One per host, on that host's silo: its capacity and what sandboxes have reserved of it, kept in
/// Orleans grain storage. The first activation on a database that has no reservations stored yet
/// (a fresh one, or one written by the old runtime) rebuilds them from the sandboxes the host runs.
/// </summary>
[GrainType(GrainTypes.Host)]
[HostAffinePlacement]
[Immovable]
public sealed class HostSlotGrain(
    [PersistentState("reservations", StorageNames.Wrenn)] IPersistentState<HostReservations> reservations,
    SandboxStore sandboxes,
    IOptions<CapacityOptions> options,
    HostFacts facts,
    HostUsageSampler usage) : Grain, IHostSlotGrain
{
    private string Name => this.GetPrimaryKeyString();

    private HostCapacity Capacity => new(
        options.Value.Vcpus ?? Environment.ProcessorCount * options.Value.CpuOvercommit,
        options.Value.MemoryMib ?? Math.Max(0, facts.MemoryMib - options.Value.MemoryMarginMib),
        options.Value.DiskMib ?? facts.FreeDiskMib);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (reservations.RecordExists)
            return;
        foreach (var sandbox in await sandboxes.OnHostAsync(Name, [SandboxState.Creating, SandboxState.Running], cancellationToken))
            reservations.State.BySandbox[sandbox.Id] = new HostCapacity(sandbox.Vcpus, sandbox.MemoryMib + facts.VmmOverheadMib, options.Value.DiskPerSandboxMib);
        await reservations.WriteStateAsync(cancellationToken);
    }

    public Task<HostInfo> GetAsync(Caller caller) =>
        Task.FromResult(new HostInfo(Name, Capacity, Reserved(), reservations.State.BySandbox.Count, Live: true, Usage: usage.Current));

    private static void RequireSilo(Caller caller)
    {
        if (!caller.IsSystem)
            throw new GrainException(ErrorCodes.PermissionDenied, "Only the silo reserves and releases host capacity; create a sandbox instead.");
    }

    private HostCapacity Reserved() => new(
        reservations.State.BySandbox.Values.Sum(r => r.Vcpus),
        reservations.State.BySandbox.Values.Sum(r => r.MemoryMib),
        reservations.State.BySandbox.Values.Sum(r => r.DiskMib));

    /// <summary>
    /// Reserves a sandbox at what it costs the host: its vCPUs, its guest memory plus the VMM's
    /// per-sandbox overhead (as the plugin measured it), its disk. Also refused when the machine's
    /// MemAvailable, less the margin, is short of that memory even though the reservations fit
    /// (something besides Wrenn's sandboxes uses the host's memory).
    /// </summary>
    public async Task ReserveAsync(Caller caller, string sandboxId, int vcpus, int memoryMib, long diskMib)
    {
        RequireSilo(caller);
        if (reservations.State.BySandbox.ContainsKey(sandboxId))
            return;
        var capacity = Capacity;
        var reserved = Reserved();
        var hostMemoryMib = memoryMib + facts.VmmOverheadMib;
        var asked = facts.VmmOverheadMib == 0 ? $"{memoryMib} MiB of memory asked" : $"{hostMemoryMib} MiB of memory asked ({memoryMib} for the guest, {facts.VmmOverheadMib} for its VMM)";
        var shortOf = new List<string>();
        if (reserved.Vcpus + vcpus > capacity.Vcpus)
            shortOf.Add($"{vcpus} vCPUs asked, {capacity.Vcpus - reserved.Vcpus} of {capacity.Vcpus} free");
        if (reserved.MemoryMib + hostMemoryMib > capacity.MemoryMib)
            shortOf.Add($"{asked}, {capacity.MemoryMib - reserved.MemoryMib} of {capacity.MemoryMib} MiB free");
        else if (facts.AvailableMemoryMib - options.Value.MemoryMarginMib is var available && available < hostMemoryMib)
            shortOf.Add($"{asked}, but the machine has only {Math.Max(0, available)} MiB available beyond its {options.Value.MemoryMarginMib} MiB margin (MemAvailable), though {capacity.MemoryMib - reserved.MemoryMib} MiB are unreserved");
        if (reserved.DiskMib + diskMib > capacity.DiskMib)
            shortOf.Add($"{diskMib} MiB of disk asked, {capacity.DiskMib - reserved.DiskMib} MiB free");
        if (shortOf.Count > 0)
            throw new GrainException(ErrorCodes.ResourceExhausted, $"Host {Name} cannot fit the sandbox: {string.Join("; ", shortOf)}. Destroy sandboxes or add hosts.");
        reservations.State.BySandbox[sandboxId] = new HostCapacity(vcpus, hostMemoryMib, diskMib);
        await reservations.WriteStateAsync();
    }

    public async Task ReleaseAsync(Caller caller, string sandboxId)
    {
        RequireSilo(caller);
        if (reservations.State.BySandbox.Remove(sandboxId))
            await reservations.WriteStateAsync();
    }
}

/// <summary>
/// A host's reservations as stored (Orleans grain storage; the ids are the stored format). A
/// reservation's memory is what the sandbox costs the host (guest + VMM overhead); those stored
/// before the overhead was counted hold the guest's size and load as they are.
/// </summary>
[GenerateSerializer]
[Alias("wrenn.HostReservations")]
public sealed class HostReservations
{
    [Id(0)]
    public Dictionary<string, HostCapacity> BySandbox { get; set; } = [];
}

/// <summary>
/// What the machine has (its memory measured once), what it has free now, and what each sandbox
/// costs it beyond its guest (<paramref name="vmmOverheadMib"/>, the VMM plugin's
/// <see cref="Wrenn.Abstractions.Vmm.IVmm.HostOverheadMib"/>). <paramref name="availableMemoryMib"/>
/// replaces the reading of /proc/meminfo's MemAvailable (tests).
/// </summary>
public sealed class HostFacts(string dataDir, int vmmOverheadMib = 0, Func<int>? availableMemoryMib = null)
{
    public int MemoryMib { get; } = ReadMemInfoMib("MemTotal");

    /// <summary>Host memory one sandbox costs beyond its guest memory.</summary>
    public int VmmOverheadMib { get; } = vmmOverheadMib;

    /// <summary>What the kernel says can be allocated now without swapping (MemAvailable), read each time.</summary>
    public int AvailableMemoryMib => availableMemoryMib?.Invoke() ?? ReadMemInfoMib("MemAvailable");

    public long FreeDiskMib => DataDisk.AvailableFreeSpace / (1024 * 1024);

    /// <summary>Used space of the filesystem that holds the data folder.</summary>
    public long UsedDiskMib => (DataDisk.TotalSize - DataDisk.TotalFreeSpace) / (1024 * 1024);

    private DriveInfo DataDisk => new(Path.GetPathRoot(Path.GetFullPath(dataDir)) ?? "/");

    private static int ReadMemInfoMib(string field)
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return (int)(long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024);
        }
        return 0;
    }
}
