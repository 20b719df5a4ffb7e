using Wrenn.Abstractions.Network;

namespace Wrenn.Abstractions.Vmm;

/// <summary>
/// The kernel arguments Wrenn's guest init reads from /proc/cmdline. The kernel has no IP
/// autoconfiguration, so the init sets up the network itself from these.
/// </summary>
public static class GuestKernelArgs
{
    /// <summary>
    /// <c>wrenn.ip=ADDR/PREFIX wrenn.gw=GATEWAY [wrenn.dns=SERVER] wrenn.hostname=NAME</c>.
    /// </summary>
    public static IReadOnlyList<string> ForNetwork(NetworkSlot slot, string hostname)
    {
        var args = new List<string>
        {
            $"wrenn.ip={slot.Guest.Address}/{slot.Guest.PrefixLength}",
            $"wrenn.gw={slot.Guest.Gateway}",
            $"wrenn.hostname={hostname}",
        };
        if (slot.Guest.DnsServer is { } dns)
            args.Add($"wrenn.dns={dns}");
        return args;
    }
}
