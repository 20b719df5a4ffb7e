using System.Net;

namespace Wrenn.Plugins.Network.Netns;

/// <summary>Configuration of the netns network plugin (<c>Wrenn:Plugins:netns</c>).</summary>
public sealed class NetnsOptions
{
    /// <summary>
    /// The start of the range slot addresses come from; slot N uses the /30 at base + 4N (host end
    /// .1, namespace end .2, which the host reaches the guest by). Default 10.200.0.0.
    /// </summary>
    public string SlotBase { get; set; } = "10.200.0.0";

    /// <summary>How many slots the range holds (a /16 holds 16384).</summary>
    public int MaxSlots { get; set; } = 16384;

    /// <summary>
    /// Whether guests reach beyond the host. Off by default. On, the plugin enables forwarding on
    /// its own veth links and masquerades guest traffic leaving the host; the host's uplink must
    /// forward too (see README.md: a deliberate host setup, never a side effect).
    /// </summary>
    public bool Egress { get; set; }

    /// <summary>The DNS server the guest is told to use; unset by default.</summary>
    public string? DnsServer { get; set; }

    /// <summary>Where slot files live, shared by every silo and test run on the machine.</summary>
    public string SlotDirectory { get; set; } = "/run/wrenn/net-slots";

    internal IPAddress SlotBaseAddress => IPAddress.Parse(SlotBase);
}
