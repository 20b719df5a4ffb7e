using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Network;

/// <summary>
/// TCP sockets in the LISTEN state, as the kernel lists them in <c>/proc/net/tcp</c> and
/// <c>/proc/net/tcp6</c> (the agent's own network namespace: the guest's), each with a process that
/// holds it, found by the socket's inode among the links in <c>/proc/PID/fd</c>.
/// </summary>
internal static class ListeningSockets
{
    /// <summary>The kernel's TCP_LISTEN, as the <c>st</c> column prints it.</summary>
    private const string ListenState = "0A";

    public static IReadOnlyList<ListeningSocket> Read(string procRoot = "/proc")
    {
        var found = new List<(ListeningSocket Socket, string Inode)>();
        found.AddRange(Parse(Path.Combine(procRoot, "net", "tcp"), ipv6: false));
        found.AddRange(Parse(Path.Combine(procRoot, "net", "tcp6"), ipv6: true));
        var owners = found.Count == 0 ? new Dictionary<string, (int, string)>() : SocketOwners(procRoot, found.Select(f => f.Inode).ToHashSet());
        foreach (var (socket, inode) in found)
        {
            if (owners.TryGetValue(inode, out var owner))
                (socket.Pid, socket.Command) = owner;
        }
        return found.Select(f => f.Socket).OrderBy(s => s.Port).ThenBy(s => s.Ipv6).ThenBy(s => s.Address, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// One table's LISTEN rows. A row reads
    /// <c>sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …</c>, the local
    /// address as the kernel's 32-bit words in hex (host byte order) and the port in hex.
    /// </summary>
    private static IEnumerable<(ListeningSocket, string)> Parse(string table, bool ipv6)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(table);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            yield break; // a kernel without IPv6 has no tcp6
        }
        foreach (var line in lines.Skip(1))
        {
            var columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (columns.Length < 10 || columns[3] != ListenState)
                continue;
            var local = columns[1].Split(':');
            if (local.Length != 2 || !TryAddress(local[0], out var address)
                || !int.TryParse(local[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var port))
                continue;
            yield return (new ListeningSocket { Port = (uint)port, Address = address.ToString(), Ipv6 = ipv6 }, columns[9]);
        }
    }

    private static bool TryAddress(string hex, out IPAddress address)
    {
        address = IPAddress.None;
        if (hex.Length is not (8 or 32))
            return false;
        Span<byte> bytes = stackalloc byte[hex.Length / 2];
        for (var word = 0; word < hex.Length / 8; word++)
        {
            if (!uint.TryParse(hex.AsSpan(word * 8, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
                return false;
            // The kernel prints each word as the CPU holds it; the guest is little-endian x86.
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.Slice(word * 4, 4), value);
        }
        address = new IPAddress(bytes);
        return true;
    }

    /// <summary>Which process holds each of <paramref name="inodes"/>: the first found with a <c>socket:[inode]</c> link among its fds.</summary>
    private static Dictionary<string, (int Pid, string Command)> SocketOwners(string procRoot, HashSet<string> inodes)
    {
        var owners = new Dictionary<string, (int, string)>();
        foreach (var processDir in Directory.EnumerateDirectories(procRoot))
        {
            if (!int.TryParse(Path.GetFileName(processDir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                continue;
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(processDir, "fd")))
                {
                    var target = new FileInfo(fd).LinkTarget;
                    if (target is null || !target.StartsWith("socket:[", StringComparison.Ordinal))
                        continue;
                    var inode = target["socket:[".Length..^1];
                    if (inodes.Contains(inode) && !owners.ContainsKey(inode))
                        owners[inode] = (pid, File.ReadAllText(Path.Combine(processDir, "comm")).TrimEnd('\n'));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended while it was read, or hides its fds: its sockets stay without an owner.
            }
        }
        return owners;
    }
}
