namespace Wrenn.Silo.Quotas;

/// <summary>What a team may use at once; a null limit is no limit.</summary>
public sealed record TeamQuota(int? MaxRunningSandboxes, int? MaxVcpus, int? MaxMemoryMib, int? MaxPausedSandboxes)
{
    public static TeamQuota None { get; } = new(null, null, null, null);
}

/// <summary>What a team's sandboxes hold now: running ones (starting and resuming included) and paused ones.</summary>
public sealed record TeamUsage(int RunningSandboxes, int Vcpus, int MemoryMib, int PausedSandboxes)
{
    public static TeamUsage Nothing { get; } = new(0, 0, 0, 0);
}

/// <summary>One limit of a quota change: left as it is, or set (a null value removes the limit).</summary>
public readonly record struct LimitChange(bool Given, int? Value)
{
    public static LimitChange Unchanged => default;

    public static LimitChange To(int? value) => new(true, value);

    public int? Apply(int? current) => Given ? Value : current;
}

/// <summary>A change of a team's quota, limit by limit.</summary>
public sealed record QuotaChange(LimitChange MaxRunningSandboxes, LimitChange MaxVcpus, LimitChange MaxMemoryMib, LimitChange MaxPausedSandboxes);
