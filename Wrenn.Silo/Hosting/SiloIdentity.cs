using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;

namespace Wrenn.Silo.Hosting;

/// <summary>
/// A silo's stable identity, kept in its data folder and made on first start: its host name in
/// the cluster (its Orleans silo name: sandboxes live on a host and come back to it after a
/// restart), the owner prefix its host objects carry (the reconciler touches only those), and its
/// silo and gateway ports, picked free once so that a restart takes the same endpoint and replaces
/// its old membership entry at once.
/// </summary>
public sealed record SiloIdentity(string SiloName, string OwnerPrefix, int SiloPort = 0, int GatewayPort = 0)
{
    private const string FileName = "identity.json";

    public static SiloIdentity LoadOrCreate(string dataDir)
    {
        var path = Path.Combine(dataDir, FileName);
        SiloIdentity identity;
        if (File.Exists(path))
        {
            identity = JsonSerializer.Deserialize<SiloIdentity>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"{path} is empty; remove it to give this silo a new identity (its sandboxes will be orphaned).");
        }
        else
        {
            // "wr" + 4 characters: never the "wt" family test runs sweep.
            identity = new SiloIdentity($"host-{Guid.NewGuid():D}", "wr" + RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 4));
        }
        if (identity.SiloPort == 0 || identity.GatewayPort == 0)
        {
            // Identities written before ports were kept get theirs now.
            var silo = identity.SiloPort != 0 ? identity.SiloPort : FreePort(avoid: identity.GatewayPort);
            identity = identity with { SiloPort = silo, GatewayPort = identity.GatewayPort != 0 ? identity.GatewayPort : FreePort(avoid: silo) };
            Directory.CreateDirectory(dataDir);
            var partial = path + ".partial";
            File.WriteAllText(partial, JsonSerializer.Serialize(identity));
            File.Move(partial, path, overwrite: true);
        }
        return identity;
    }

    private static int FreePort(int avoid)
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (port != avoid)
                return port;
        }
    }
}
