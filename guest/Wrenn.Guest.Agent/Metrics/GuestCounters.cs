using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Metrics;

/// <summary>
/// Reads the guest's counters from the kernel: /proc/stat (CPU time), /proc/meminfo (memory),
/// statfs of the root filesystem (disk) and /proc/net/dev (network). Every read is of a small
/// file the kernel makes on demand; nothing is kept between samples (the caller takes rates).
/// </summary>
internal static class GuestCounters
{
    /// <summary>USER_HZ: the kernel reports /proc/stat in these ticks on every Linux architecture the agent runs on.</summary>
    public const uint TicksPerSecond = 100;

    public static GuestSample Sample(string procRoot = "/proc", string rootFilesystem = "/")
    {
        var sample = new GuestSample { UnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), TicksPerSecond = TicksPerSecond };
        ReadStat(File.ReadAllText(Path.Combine(procRoot, "stat")), sample);
        ReadMemInfo(File.ReadAllText(Path.Combine(procRoot, "meminfo")), sample);
        var root = new DriveInfo(rootFilesystem);
        sample.DiskTotalBytes = (ulong)root.TotalSize;
        sample.DiskFreeBytes = (ulong)root.TotalFreeSpace;
        sample.Network.AddRange(ReadNetDev(File.ReadAllText(Path.Combine(procRoot, "net", "dev"))));
        return sample;
    }

    /// <summary>The first line ("cpu  user nice system idle iowait irq softirq steal …") and the count of "cpuN" lines.</summary>
    internal static void ReadStat(string stat, GuestSample sample)
    {
        uint cpus = 0;
        Span<ulong> fields = stackalloc ulong[8];
        foreach (var line in stat.AsSpan().EnumerateLines())
        {
            if (!line.StartsWith("cpu"))
                continue;
            if (line.Length > 3 && line[3] != ' ')
            {
                cpus++;
                continue;
            }
            fields.Clear();
            Numbers(line[3..], fields);
            sample.Cpu = new CpuTimes
            {
                User = fields[0], Nice = fields[1], System = fields[2], Idle = fields[3],
                Iowait = fields[4], Irq = fields[5], Softirq = fields[6], Steal = fields[7],
            };
        }
        sample.Cpus = cpus;
    }

    /// <summary>MemTotal and MemAvailable, in kB in the file.</summary>
    internal static void ReadMemInfo(string meminfo, GuestSample sample)
    {
        foreach (var line in meminfo.AsSpan().EnumerateLines())
        {
            if (line.StartsWith("MemTotal:"))
                sample.MemoryTotalBytes = Kilobytes(line["MemTotal:".Length..]) * 1024;
            else if (line.StartsWith("MemAvailable:"))
                sample.MemoryAvailableBytes = Kilobytes(line["MemAvailable:".Length..]) * 1024;
        }
    }

    /// <summary>Parses the space-separated numbers of <paramref name="text"/> into <paramref name="into"/> (as many as fit); returns how many.</summary>
    private static int Numbers(ReadOnlySpan<char> text, Span<ulong> into)
    {
        var read = 0;
        foreach (var range in text.Split(' '))
        {
            var field = text[range];
            if (field.IsEmpty)
                continue;
            if (read == into.Length)
                break;
            into[read++] = ulong.Parse(field);
        }
        return read;
    }

    private static ulong Kilobytes(ReadOnlySpan<char> value)
    {
        var text = value.Trim();
        var space = text.IndexOf(' ');
        return ulong.Parse(space < 0 ? text : text[..space]);
    }

    /// <summary>
    /// "  eth0: rx_bytes rx_packets errs drop fifo frame compressed multicast tx_bytes tx_packets …"
    /// after two header lines; the loopback interface is left out (it is traffic inside the guest).
    /// </summary>
    internal static IEnumerable<NetworkCounters> ReadNetDev(string netDev)
    {
        var found = new List<NetworkCounters>();
        Span<ulong> fields = stackalloc ulong[10];
        foreach (var line in netDev.AsSpan().EnumerateLines())
        {
            var colon = line.IndexOf(':');
            if (colon < 0)
                continue;
            var name = line[..colon].Trim().ToString();
            if (name == "lo")
                continue;
            if (Numbers(line[(colon + 1)..], fields) < fields.Length)
                continue;
            found.Add(new NetworkCounters { Name = name, RxBytes = fields[0], RxPackets = fields[1], TxBytes = fields[8], TxPackets = fields[9] });
        }
        return found;
    }
}
