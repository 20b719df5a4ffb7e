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

    /// <summary>A fresh owner prefix for one test process or fixture.</summary>
    public static string NewOwner()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        return Family + RandomNumberGenerator.GetString(alphabet, 4);
    }
}
