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
    /// The egress policy of a sandbox that has none of its own (<see cref="NetnsNetwork.DefaultPolicy"/>):
    /// on, everything (<c>EgressPolicy.Open</c>); off (the default), nothing (<c>EgressPolicy.Closed</c>).
    /// Reaching beyond the host also takes the host's uplink forwarding (README.md: a deliberate host
    /// setup, never a side effect).
    /// </summary>
    public bool Egress { get; set; }

    /// <summary>
    /// The DNS server the guest is told to use. Unset (the default): the plugin's own resolver, which
    /// the guest reaches at its gateway (169.254.0.22) and which enforces the sandbox's egress names.
    /// Set, the guest is told this address instead (its port-53 traffic still goes to the resolver).
    /// </summary>
    public string? DnsServer { get; set; }

    /// <summary>The plugin's DNS resolver (<c>Wrenn:Plugins:netns:Resolver</c>).</summary>
    public ResolverOptions Resolver { get; set; } = new();

    /// <summary>Where slot files live, shared by every silo and test run on the machine.</summary>
    public string SlotDirectory { get; set; } = "/run/wrenn/net-slots";

    internal IPAddress SlotBaseAddress => IPAddress.Parse(SlotBase);
}

/// <summary>The DNS resolver the plugin runs in the silo for its sandboxes (<c>Wrenn:Plugins:netns:Resolver</c>).</summary>
public sealed class ResolverOptions
{
    /// <summary>
    /// The UDP and TCP port it listens on in the root namespace. 0 (the default): a free one, chosen
    /// when it starts — several silos and test runs share a machine, each with its own resolver.
    /// </summary>
    public int Port { get; set; }

    /// <summary>
    /// Where it sends the names a sandbox may resolve: one or more <c>address[:port]</c> (port 53 if
    /// none; IPv6 as <c>[address]:port</c>), separated by commas or spaces, tried in order. Unset (the
    /// default): the nameservers of the host's /etc/resolv.conf, read when the resolver starts.
    /// </summary>
    public string? Upstream { get; set; }
}
