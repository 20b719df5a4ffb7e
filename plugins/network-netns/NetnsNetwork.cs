using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;

namespace Wrenn.Plugins.Network.Netns;

/// <summary>
/// A network namespace per sandbox, Firecracker-style:
/// <code>
///  root ns                         sandbox netns "{owner}-{slot}"              guest
///  {owner}h{slot} 10.x.y.1/30 ── veth0 10.x.y.2/30        tap0 169.254.0.22/30 ── eth0 169.254.0.21
///                                  DNAT 10.x.y.2 → 169.254.0.21, MASQUERADE out of tap0
/// </code>
/// The host reaches the guest at 10.x.y.2; every guest has the same address, so a snapshot restores
/// into any slot. Rules live in an nftables table inside the namespace and vanish with it.
/// </summary>
public sealed partial class NetnsNetwork : INetwork
{
    private const string TapName = "tap0";
    private const string InnerVeth = "veth0";
    private readonly NetnsOptions _options;
    private readonly PluginHost _host;
    private readonly SlotAllocator _slots;
    private readonly ILogger<NetnsNetwork> _logger;

    public NetnsNetwork(IOptions<NetnsOptions> options, PluginHost host, ILogger<NetnsNetwork> logger)
    {
        HostObjectNames.ValidateOwnerPrefix(host.OwnerPrefix);
        _options = options.Value;
        _host = host;
        _logger = logger;
        _slots = new SlotAllocator(_options.SlotDirectory, _options.MaxSlots);
    }

    public async Task<NetworkSlot> AllocateAsync(string sandboxId, CancellationToken cancellationToken)
    {
        var index = _slots.Take(_host.OwnerPrefix, sandboxId);
        var slot = Describe(index, sandboxId);
        try
        {
            await BuildAsync(slot, cancellationToken);
        }
        catch
        {
            // Undo whatever part was built; CancellationToken.None: the undo must run even when cancelled.
            await TeardownAsync(slot, CancellationToken.None);
            throw;
        }
        LogAllocated(slot.Index, slot.Namespace, slot.HostAddress, sandboxId);
        return slot;
    }

    public async Task ReleaseAsync(NetworkSlot slot, CancellationToken cancellationToken)
    {
        await TeardownAsync(slot, cancellationToken);
        LogReleased(slot.Index, slot.Namespace);
    }

    public async Task<IReadOnlyList<NetworkSlot>> DiscoverAsync(string ownerPrefix, CancellationToken cancellationToken)
    {
        var found = new Dictionary<int, NetworkSlot>();
        foreach (var (index, sandboxId) in _slots.OwnedBy(ownerPrefix))
            found[index] = Describe(index, sandboxId, ownerPrefix);
        // A namespace whose slot file is gone (a crash between the two) is found by its name.
        var list = await HostCommand.RunAsync("ip", ["netns", "list"], cancellationToken);
        foreach (var line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            if (name.StartsWith(ownerPrefix + "-", StringComparison.Ordinal)
                && int.TryParse(name[(ownerPrefix.Length + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                && !found.ContainsKey(index))
                found[index] = Describe(index, "", ownerPrefix);
        }
        return found.Values.OrderBy(s => s.Index).ToList();
    }

    private NetworkSlot Describe(int index, string sandboxId, string? owner = null)
    {
        owner ??= _host.OwnerPrefix;
        var hostLink = HostObjectNames.Link($"{owner}h{index}");
        var properties = new Dictionary<string, string>
        {
            ["owner"] = owner,
            ["hostLink"] = hostLink,
            ["hostEnd"] = SlotAddresses.HostEnd(_options.SlotBaseAddress, index).ToString(),
        };
        return new NetworkSlot(
            index,
            sandboxId,
            $"{owner}-{index}",
            TapName,
            SlotAddresses.NamespaceEnd(_options.SlotBaseAddress, index),
            new GuestNetwork(SlotAddresses.GuestAddress, SlotAddresses.GuestPrefixLength, SlotAddresses.TapAddress,
                SlotAddresses.GuestMac, _options.DnsServer is { Length: > 0 } dns ? IPAddress.Parse(dns) : null),
            properties);
    }

    private async Task BuildAsync(NetworkSlot slot, CancellationToken ct)
    {
        var ns = slot.Namespace;
        var hostLink = slot.Properties["hostLink"];
        var hostEnd = slot.Properties["hostEnd"];
        var nsEnd = slot.HostAddress.ToString();
        // The slot is ours now (its file was claimed exclusively), so anything already carrying its
        // names is a leftover — a release whose namespace delete failed (a process still inside it)
        // or a crash: it goes first, rather than failing this allocation.
        await HostCommand.TryRunAsync("ip", ["link", "delete", hostLink], ct);
        await HostCommand.TryRunAsync("ip", ["netns", "delete", ns], ct);
        await Ip(ct, "netns", "add", ns);
        await Ip(ct, "-n", ns, "link", "set", "lo", "up");
        await Ip(ct, "link", "add", hostLink, "type", "veth", "peer", "name", InnerVeth, "netns", ns);
        await Ip(ct, "addr", "add", $"{hostEnd}/30", "dev", hostLink);
        await Ip(ct, "link", "set", hostLink, "up");
        await Ip(ct, "-n", ns, "addr", "add", $"{nsEnd}/30", "dev", InnerVeth);
        await Ip(ct, "-n", ns, "link", "set", InnerVeth, "up");
        await Ip(ct, "-n", ns, "route", "add", "default", "via", hostEnd);
        await Ip(ct, "-n", ns, "tuntap", "add", "dev", TapName, "mode", "tap");
        await Ip(ct, "-n", ns, "addr", "add", $"{SlotAddresses.TapAddress}/{SlotAddresses.GuestPrefixLength}", "dev", TapName);
        await Ip(ct, "-n", ns, "link", "set", TapName, "up");
        // Forwarding inside the namespace is the namespace's own setting, not the machine's.
        await HostCommand.RunAsync("ip", ["netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"], ct);
        await HostCommand.RunAsync("ip", ["netns", "exec", ns, "nft", "-f", "-"], ct, NamespaceRules(nsEnd));
        await EnsureHostTableAsync(ct);
        if (_options.Egress)
        {
            // Only this link forwards: the machine-wide switch stays as the administrator set it.
            await HostCommand.RunAsync("sysctl", ["-q", "-w", $"net.ipv4.conf.{hostLink}.forwarding=1"], ct);
        }
    }

    /// <summary>
    /// DNAT of the namespace's veth address to the guest; masquerade towards the guest (so it answers
    /// through the namespace) and, with egress on, towards the host. Without egress, the guest may
    /// answer connections but not open its own to anything beyond the namespace; it opens none to
    /// the namespace itself either way.
    /// </summary>
    private string NamespaceRules(string nsEnd) => $$"""
        table ip wrenn {
          chain prerouting {
            type nat hook prerouting priority dstnat; policy accept;
            ip daddr {{nsEnd}} dnat to {{SlotAddresses.GuestAddress}}
          }
          chain postrouting {
            type nat hook postrouting priority srcnat; policy accept;
            oifname "{{TapName}}" masquerade
            oifname "{{InnerVeth}}" ip saddr {{SlotAddresses.GuestAddress}} masquerade
          }
          chain forward {
            type filter hook forward priority filter; policy accept;
            ct state established,related accept
            iifname "{{TapName}}" {{(_options.Egress ? "accept" : "drop")}}
          }
          chain output {
            type filter hook output priority filter; policy accept;
            oifname "{{InnerVeth}}" ip saddr {{SlotAddresses.GuestAddress}} ct state new {{(_options.Egress ? "accept" : "drop")}}
          }
          chain input {
            type filter hook input priority filter; policy accept;
            iifname "{{TapName}}" ct state new drop
          }
        }
        """;

    /// <summary>
    /// One table per owner in the root namespace, replaced whole at each allocation. A guest opens no
    /// connection to the host itself (any of its addresses, the veth ends included: with egress on
    /// they would otherwise be one hop away), none into another sandbox (forwarded out of one of
    /// this owner's links), and with egress on its traffic leaving the host is masqueraded. The host
    /// opening connections to guests, and the answers, pass.
    /// </summary>
    private Task EnsureHostTableAsync(CancellationToken ct)
    {
        var table = HostTable(_host.OwnerPrefix);
        var links = $"{_host.OwnerPrefix}h*";
        var egress = _options.Egress
            ? $$"""
                  chain postrouting {
                    type nat hook postrouting priority srcnat; policy accept;
                    ip saddr {{SlotAddresses.Range(_options.SlotBaseAddress, _options.MaxSlots)}} oifname != "{{links}}" masquerade
                  }
              """
            : "";
        return HostCommand.RunAsync("nft", ["-f", "-"], ct, $$"""
            table ip {{table}}
            flush table ip {{table}}
            table ip {{table}} {
              chain input {
                type filter hook input priority filter; policy accept;
                iifname "{{links}}" ct state new drop
              }
              chain forward {
                type filter hook forward priority filter; policy accept;
                oifname "{{links}}" ct state new drop
              }
            {{egress}}
            }
            """);
    }

    /// <summary>The root-namespace nftables table of an owner (removed when its last slot goes).</summary>
    public static string HostTable(string ownerPrefix) => $"wrenn_{ownerPrefix}";

    private async Task TeardownAsync(NetworkSlot slot, CancellationToken ct)
    {
        var owner = slot.Properties.TryGetValue("owner", out var o) ? o : _host.OwnerPrefix;
        // Deleting the host end removes the veth pair at once (the kernel tears down a deleted
        // namespace's links asynchronously); deleting the namespace removes its TAP and nft table.
        if (slot.Properties.TryGetValue("hostLink", out var hostLink))
            await HostCommand.TryRunAsync("ip", ["link", "delete", hostLink], ct);
        await HostCommand.TryRunAsync("ip", ["netns", "delete", slot.Namespace], ct);
        _slots.Free(slot.Index);
        if (!_slots.OwnedBy(owner).Any())
            await HostCommand.TryRunAsync("nft", ["delete", "table", "ip", HostTable(owner)], ct);
    }

    private static Task<string> Ip(CancellationToken ct, params string[] args) => HostCommand.RunAsync("ip", args, ct);

    [LoggerMessage(Level = LogLevel.Information, Message = "Network slot {Index} ready: netns {Namespace}, guest reachable at {HostAddress} for {SandboxId}")]
    private partial void LogAllocated(int index, string @namespace, IPAddress hostAddress, string sandboxId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Network slot {Index} released: netns {Namespace} removed")]
    private partial void LogReleased(int index, string @namespace);
}
