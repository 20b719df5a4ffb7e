using System.Security.Cryptography;
using System.Text.Json;

namespace Wrenn.Silo.Hosting;

/// <summary>
/// A silo's stable identity, kept in its data folder: its name in the cluster (pinned sandboxes
/// come back to it after a restart) and the owner prefix its host objects carry (the reconciler
/// touches only those). Made on first start.
/// </summary>
public sealed record SiloIdentity(string SiloName, string OwnerPrefix)
{
    public static SiloIdentity LoadOrCreate(string dataDir)
    {
        var path = Path.Combine(dataDir, "identity.json");
        if (File.Exists(path))
            return JsonSerializer.Deserialize<SiloIdentity>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"{path} is empty; remove it to give this silo a new identity (its sandboxes will be orphaned).");
        // "wr" + 4 characters: never the "wt" family test runs sweep.
        var identity = new SiloIdentity($"host-{Guid.NewGuid():D}", "wr" + RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 4));
        Directory.CreateDirectory(dataDir);
        File.WriteAllText(path, JsonSerializer.Serialize(identity));
        return identity;
    }
}
