using System.Security.Cryptography;

namespace Wrenn.Testing;

/// <summary>
/// Names of host objects that tests create (netns, links, folders, processes' work dirs) start
/// with <see cref="Family"/>, so that a leak is easy to spot and a run can sweep its own
/// leftovers first. Each test process gets its own owner prefix (<c>wt</c> + 4 characters), which
/// fits <see cref="Wrenn.Abstractions.Plugins.HostObjectNames.MaxOwnerPrefixLength"/>.
/// </summary>
public static class TestPrefix
{
    /// <summary>What every test-created host object name starts with.</summary>
    public const string Family = "wt";

    /// <summary>Where each owner prefix records the process that uses it, so a sweep can tell live from leaked.</summary>
    public const string OwnersFolder = "/run/wrenn/test-owners";

    /// <summary>
    /// A fresh owner prefix for one test fixture, registered to this process. Call
    /// <see cref="HostSweep.RemoveLeftoversAsync"/> first so that a crashed run's objects are gone.
    /// </summary>
    public static string NewOwner()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        var owner = Family + RandomNumberGenerator.GetString(alphabet, 4);
        Directory.CreateDirectory(OwnersFolder);
        File.WriteAllText(Path.Combine(OwnersFolder, owner), Environment.ProcessId.ToString());
        return owner;
    }

    /// <summary>Unregisters an owner whose objects the fixture has removed.</summary>
    public static void Retire(string owner) => File.Delete(Path.Combine(OwnersFolder, owner));

    /// <summary>Whether the process that registered <paramref name="owner"/> still runs.</summary>
    public static bool IsLive(string owner)
    {
        var file = Path.Combine(OwnersFolder, owner);
        return File.Exists(file) && int.TryParse(File.ReadAllText(file).Trim(), out var pid) && Directory.Exists($"/proc/{pid}");
    }
}
