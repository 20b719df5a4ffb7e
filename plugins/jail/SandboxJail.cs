using System.Globalization;

namespace Wrenn.Plugins.Jail;

/// <summary>
/// One sandbox's jail: the uid and gid its processes run as and the cgroup that holds and limits
/// them. Shared by every jailed process of the sandbox (its VMM and, on Firecracker, its page
/// server). Durable through its lease file and the VM handle's properties, so that a restarted
/// silo re-adopts it and the reconciler frees it.
/// </summary>
/// <param name="Owner">The owner prefix of the silo or test run.</param>
/// <param name="SandboxId">The sandbox.</param>
/// <param name="Uid">Its uid; the gid has the same number. 0 for <see cref="Unjailed"/>.</param>
/// <param name="Cgroups">Its cgroup folders (one per v1 hierarchy, or one v2 folder); empty when unjailed.</param>
public sealed record SandboxJail(string Owner, string SandboxId, int Uid, IReadOnlyList<string> Cgroups)
{
    public int Gid => Uid;

    /// <summary>Whether processes run jailed (false when jails are switched off).</summary>
    public bool Jailed => Uid != 0;

    /// <summary>The placeholder when jails are off: processes run as root, in no cgroup of their own.</summary>
    public static SandboxJail Unjailed(string owner, string sandboxId) => new(owner, sandboxId, 0, []);

    private const string UidProperty = "jail.uid";
    private const string CgroupsProperty = "jail.cgroups";

    /// <summary>The facts a VM handle records (<see cref="FromProperties"/> reads them back).</summary>
    public IReadOnlyDictionary<string, string> ToProperties() => new Dictionary<string, string>
    {
        [UidProperty] = Uid.ToString(CultureInfo.InvariantCulture),
        [CgroupsProperty] = string.Join('\n', Cgroups),
    };

    /// <summary>The jail a VM handle recorded, or an unjailed one for handles from before jails.</summary>
    public static SandboxJail FromProperties(string owner, string sandboxId, IReadOnlyDictionary<string, string> properties) =>
        properties.TryGetValue(UidProperty, out var uid) && int.TryParse(uid, CultureInfo.InvariantCulture, out var parsed) && parsed != 0
            ? new SandboxJail(owner, sandboxId, parsed,
                properties.GetValueOrDefault(CgroupsProperty, "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
            : Unjailed(owner, sandboxId);
}
