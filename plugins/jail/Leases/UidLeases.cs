using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Wrenn.Plugins.Jail.Leases;

/// <summary>A path the jail was given (chowned to its uid), with the owner it had, to give back.</summary>
public sealed record GivenPath(string Path, int Uid, int Gid);

/// <summary>
/// A sandbox's hold on one uid of the range: whose it is, its cgroups and the host paths it was
/// given. Everything needed to free the jail is here, so any process (a restarted silo, a test
/// sweep) can free it without knowing how it was configured.
/// </summary>
public sealed record JailLease(
    int Uid,
    string Owner,
    string SandboxId,
    int Pid,
    IReadOnlyList<string> Cgroups,
    IReadOnlyList<GivenPath> Given);

/// <summary>
/// Hands out uids machine-wide, as network slots are: a uid is taken by creating its lease file
/// with O_EXCL, atomic across processes, so two silos or test runs never run sandboxes under the
/// same uid. Taking is idempotent per sandbox: the VMM and the page server of one sandbox share its
/// uid. Lease files live under /run: a reboot, which ends every jailed process, frees them all.
/// </summary>
public sealed class UidLeases(string directory, int firstUid, int count)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    public string Directory { get; } = directory;

    /// <summary>The sandbox's lease, taking the lowest free uid of the range if it has none.</summary>
    /// <exception cref="Wrenn.Abstractions.Network.CapacityException">Every uid of the range is taken.</exception>
    public JailLease Take(string owner, string sandboxId)
    {
        System.IO.Directory.CreateDirectory(Directory);
        if (Find(owner, sandboxId) is { } held)
            return held;
        for (var uid = firstUid; uid < firstUid + count; uid++)
        {
            var lease = new JailLease(uid, owner, sandboxId, Environment.ProcessId, [], []);
            try
            {
                using var file = new FileStream(PathOf(uid), FileMode.CreateNew, FileAccess.Write);
                JsonSerializer.Serialize(file, lease, Json);
                return lease;
            }
            catch (IOException) when (File.Exists(PathOf(uid)))
            {
                // Someone else's: try the next.
            }
        }
        throw new Wrenn.Abstractions.Network.CapacityException(
            $"All {count} jail uids from {firstUid} are in use (leases in {Directory}). Destroy sandboxes or widen the range (Jail:FirstUid, Jail:UidCount).");
    }

    /// <summary>Rewrites a lease (its cgroups or given paths changed); atomic for readers.</summary>
    public void Update(JailLease lease)
    {
        var temporary = Path.Combine(Directory, $".{lease.Uid}.{Environment.ProcessId}.tmp");
        File.WriteAllText(temporary, JsonSerializer.Serialize(lease, Json));
        File.Move(temporary, PathOf(lease.Uid), overwrite: true);
    }

    public void Free(int uid) => File.Delete(PathOf(uid));

    public JailLease? Find(string owner, string sandboxId) =>
        All().FirstOrDefault(l => l.Owner == owner && l.SandboxId == sandboxId);

    public JailLease? Of(int uid) => Read(PathOf(uid));

    /// <summary>The leases of one owner (for the reconciler and the test sweep).</summary>
    public IEnumerable<JailLease> OwnedBy(string owner) => All().Where(l => l.Owner == owner);

    /// <summary>Every readable lease, whatever its owner or range.</summary>
    public IEnumerable<JailLease> All()
    {
        if (!System.IO.Directory.Exists(Directory))
            yield break;
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory))
        {
            if (!int.TryParse(Path.GetFileName(path), NumberStyles.None, CultureInfo.InvariantCulture, out _))
                continue;
            if (Read(path) is { } lease)
                yield return lease;
        }
    }

    private static JailLease? Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<JailLease>(File.ReadAllText(path), Json);
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null; // freed while we looked, or being written this very moment
        }
    }

    private string PathOf(int uid) => Path.Combine(Directory, uid.ToString(CultureInfo.InvariantCulture));
}
