using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Wrenn.Abstractions.Network;

namespace Wrenn.Plugins.Network.Netns;

/// <summary>
/// The nftables text the plugin loads: the table inside each sandbox namespace (its NAT and its egress
/// filter), the batches that admit resolved addresses to it, and the per-owner table in the root
/// namespace. Pure text: <see cref="NetnsNetwork"/> and <see cref="EgressResolver"/> load it.
/// </summary>
internal static partial class NftRules
{
    public const string TapName = "tap0";
    public const string InnerVeth = "veth0";

    /// <summary>The table inside every sandbox namespace (one per namespace: it vanishes with it).</summary>
    public const string NamespaceTable = "wrenn";

    /// <summary>The set of addresses the resolver admitted, each until its record's TTL runs out.</summary>
    public const string ResolvedSet = "resolved";

    /// <summary>What a slot's namespace table is built from.</summary>
    /// <param name="NamespaceEnd">The namespace's veth address (10.x.y.2): DNAT'd to the guest.</param>
    /// <param name="HostEnd">The root namespace's veth address (10.x.y.1): where the resolver is reached.</param>
    /// <param name="ResolverPort">The resolver's port (UDP and TCP) in the root namespace.</param>
    /// <param name="Policy">The slot's egress policy.</param>
    /// <param name="FlushResolved">Whether the addresses admitted under the policy before go (it changed).</param>
    public sealed record NamespaceRuleSet(IPAddress NamespaceEnd, IPAddress HostEnd, int ResolverPort, EgressPolicy Policy, bool FlushResolved);

    /// <summary>
    /// The whole namespace table, as one <c>nft -f</c> transaction that works on a new namespace and on
    /// one already built (by this or an earlier silo): every set and chain is declared, flushed and
    /// refilled, so nothing is half-applied and nothing of the rules before is left. The resolved set
    /// keeps its addresses unless <see cref="NamespaceRuleSet.FlushResolved"/>.
    /// <list type="bullet">
    /// <item>prerouting: the namespace's veth address is DNAT'd to the guest (the host reaches it
    /// there); every port-53 packet from the guest, whatever its destination, to the resolver.</item>
    /// <item>output_nat: the same port-53 DNAT for the tests' stand-in guest — a process in the
    /// namespace holding the guest address, whose packets are local ones, not forwarded.</item>
    /// <item>postrouting: masquerade towards the guest (so it answers through the namespace) and
    /// the guest's own traffic out of the veth (the host routes the slot addresses only).</item>
    /// <item>egress: every new packet the guest sends out (forwarded from the TAP, or the
    /// stand-in's from the guest address): established accept; the resolver accept; deny CIDRs
    /// drop; allow CIDRs accept; resolved addresses accept; then the policy's internet switch.</item>
    /// <item>input: the guest opens no connection to the namespace itself.</item>
    /// </list>
    /// </summary>
    public static string Namespace(NamespaceRuleSet rules)
    {
        var t = NamespaceTable;
        var guest = SlotAddresses.GuestAddress;
        var resolver = $"{rules.HostEnd}:{rules.ResolverPort.ToString(CultureInfo.InvariantCulture)}";
        var text = new StringBuilder($$"""
            table ip {{t}} {
              set deny { type ipv4_addr; flags interval; auto-merge; }
              set allow { type ipv4_addr; flags interval; auto-merge; }
              set {{ResolvedSet}} { type ipv4_addr; flags timeout; }
              chain prerouting { type nat hook prerouting priority dstnat; policy accept; }
              chain output_nat { type nat hook output priority -100; policy accept; }
              chain postrouting { type nat hook postrouting priority srcnat; policy accept; }
              chain egress { }
              chain forward { type filter hook forward priority filter; policy accept; }
              chain output { type filter hook output priority filter; policy accept; }
              chain input { type filter hook input priority filter; policy accept; }
            }
            flush chain ip {{t}} prerouting
            flush chain ip {{t}} output_nat
            flush chain ip {{t}} postrouting
            flush chain ip {{t}} egress
            flush chain ip {{t}} forward
            flush chain ip {{t}} output
            flush chain ip {{t}} input
            flush set ip {{t}} deny
            flush set ip {{t}} allow

            """);
        if (rules.FlushResolved)
            text.AppendLine($"flush set ip {t} {ResolvedSet}");
        text.Append($$"""
            table ip {{t}} {
              chain prerouting {
                iifname "{{TapName}}" meta l4proto { tcp, udp } th dport 53 dnat to {{resolver}}
                ip daddr {{rules.NamespaceEnd}} dnat to {{guest}}
              }
              chain output_nat {
                ip saddr {{guest}} meta l4proto { tcp, udp } th dport 53 dnat to {{resolver}}
              }
              chain postrouting {
                oifname "{{TapName}}" masquerade
                oifname "{{InnerVeth}}" ip saddr {{guest}} masquerade
              }
              chain egress {
                ct state established,related accept
                ip daddr {{rules.HostEnd}} meta l4proto { tcp, udp } th dport {{rules.ResolverPort}} accept
                ip daddr @deny drop
                ip daddr @allow accept
                ip daddr @{{ResolvedSet}} accept
                {{(rules.Policy.Internet ? "accept" : "drop")}} comment "{{PolicyMark}} {{Fingerprint(rules.Policy)}}"
              }
              chain forward {
                iifname "{{TapName}}" jump egress
              }
              chain output {
                oifname "{{InnerVeth}}" ip saddr {{guest}} jump egress
              }
              chain input {
                iifname "{{TapName}}" ct state new drop
              }
            }

            """);
        AddElements(text, "deny", rules.Policy.DenyEntries);
        AddElements(text, "allow", rules.Policy.AllowEntries);
        return text.ToString();
    }

    /// <summary>
    /// Admits <paramref name="addresses"/> to the resolved set, each for its timeout (seconds). An
    /// <c>add element</c> on an element already there keeps its old timeout (nftables 1.0.6), so each
    /// is added (no timeout: made sure to exist), deleted and added again with its timeout — in one
    /// transaction, so it is never missing in between.
    /// </summary>
    public static string Admit(IReadOnlyCollection<(IPAddress Address, int Seconds)> addresses)
    {
        var plain = string.Join(", ", addresses.Select(a => a.Address));
        var timed = string.Join(", ", addresses.Select(a => $"{a.Address} timeout {a.Seconds.ToString(CultureInfo.InvariantCulture)}s"));
        return $$"""
            add element ip {{NamespaceTable}} {{ResolvedSet}} { {{plain}} }
            delete element ip {{NamespaceTable}} {{ResolvedSet}} { {{plain}} }
            add element ip {{NamespaceTable}} {{ResolvedSet}} { {{timed}} }

            """;
    }

    /// <summary>The fingerprint of the policy a namespace table was built with (read back by an adopting silo), or null.</summary>
    public static string? AppliedFingerprint(string egressChainListing) =>
        AppliedMark().Match(egressChainListing) is { Success: true } match ? match.Groups[1].Value : null;

    /// <summary>A short digest of <paramref name="policy"/>, kept in the egress chain's last rule's comment.</summary>
    public static string Fingerprint(EgressPolicy policy) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(policy.ToString())))[..16];

    /// <summary>
    /// One table per owner in the root namespace, replaced whole at each allocation and each applied
    /// policy. A guest opens no connection to the host itself (any of its addresses, the veth ends
    /// included) but to the resolver's port, none into another sandbox (forwarded out of one of this
    /// owner's links), and its traffic leaving the host is masqueraded. The host opening connections to
    /// guests, and the answers, pass.
    /// </summary>
    public static string HostTable(string table, string ownerPrefix, string slotRange, int resolverPort)
    {
        var links = $"{ownerPrefix}h*";
        return $$"""
            table ip {{table}}
            flush table ip {{table}}
            table ip {{table}} {
              chain input {
                type filter hook input priority filter; policy accept;
                iifname "{{links}}" meta l4proto { tcp, udp } th dport {{resolverPort}} accept
                iifname "{{links}}" ct state new drop
              }
              chain forward {
                type filter hook forward priority filter; policy accept;
                oifname "{{links}}" ct state new drop
              }
              chain postrouting {
                type nat hook postrouting priority srcnat; policy accept;
                ip saddr {{slotRange}} oifname != "{{links}}" masquerade
              }
            }
            """;
    }

    private const string PolicyMark = "wrenn-policy";

    private static void AddElements(StringBuilder text, string set, IEnumerable<EgressEntry> entries)
    {
        var cidrs = EgressPolicy.Cidrs(entries).Select(c => c.ToString()).ToList();
        if (cidrs.Count > 0)
            text.AppendLine($"add element ip {NamespaceTable} {set} {{ {string.Join(", ", cidrs)} }}");
    }

    [GeneratedRegex(PolicyMark + " ([0-9a-f]{16})")]
    private static partial Regex AppliedMark();
}
