using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Wrenn.Abstractions.Network;

/// <summary>
/// What a sandbox may reach beyond its host. With <see cref="Internet"/> on, everything but
/// <see cref="Deny"/>; off, nothing but <see cref="Allow"/>. Entries are IPv4 CIDRs (a bare
/// address is a /32) or domain names (<c>*.example.com</c> for any name below example.com). A CIDR
/// in <see cref="Deny"/> beats every allow, names included; a denied name beats an allowed one.
/// Build it with <see cref="Create"/>, which checks and normalises every entry.
/// </summary>
public sealed record EgressPolicy
{
    /// <summary>Entries per list, at most.</summary>
    public const int MaxEntries = 1000;

    private EgressPolicy(bool internet, IReadOnlyList<EgressEntry> allow, IReadOnlyList<EgressEntry> deny)
    {
        Internet = internet;
        AllowEntries = allow;
        DenyEntries = deny;
    }

    public bool Internet { get; }

    /// <summary>The allow list as given (normalised: lower case, no trailing dot, a bare address as /32).</summary>
    public IReadOnlyList<string> Allow => [.. AllowEntries.Select(e => e.Text)];

    /// <summary>The deny list as given (normalised).</summary>
    public IReadOnlyList<string> Deny => [.. DenyEntries.Select(e => e.Text)];

    public IReadOnlyList<EgressEntry> AllowEntries { get; }

    public IReadOnlyList<EgressEntry> DenyEntries { get; }

    /// <summary>Everything reachable, nothing denied.</summary>
    public static EgressPolicy Open { get; } = new(true, [], []);

    /// <summary>Nothing reachable.</summary>
    public static EgressPolicy Closed { get; } = new(false, [], []);

    /// <summary>Checks every entry; the first bad one is named in an <see cref="EgressPolicyException"/>.</summary>
    public static EgressPolicy Create(bool internet, IEnumerable<string>? allow, IEnumerable<string>? deny) =>
        new(internet, Parse("allow", allow), Parse("deny", deny));

    /// <summary>Whether the sandbox's resolver answers <paramref name="name"/> (a denied name beats an allowed one).</summary>
    public bool AllowsName(string name)
    {
        var normal = name.TrimEnd('.').ToLowerInvariant();
        if (DenyEntries.Any(e => e.MatchesName(normal)))
            return false;
        return Internet || AllowEntries.Any(e => e.MatchesName(normal));
    }

    /// <summary>The CIDRs of a list, for the packet filter.</summary>
    public static IEnumerable<IPNetwork> Cidrs(IEnumerable<EgressEntry> entries) =>
        entries.Where(e => e.Cidr is not null).Select(e => e.Cidr!.Value);

    public bool Equals(EgressPolicy? other) =>
        other is not null && Internet == other.Internet && Allow.SequenceEqual(other.Allow) && Deny.SequenceEqual(other.Deny);

    public override int GetHashCode() => HashCode.Combine(Internet, string.Join(',', Allow), string.Join(',', Deny));

    public override string ToString() =>
        $"internet {(Internet ? "on" : "off")}, allow [{string.Join(", ", Allow)}], deny [{string.Join(", ", Deny)}]";

    private static List<EgressEntry> Parse(string list, IEnumerable<string>? entries)
    {
        var parsed = new List<EgressEntry>();
        foreach (var entry in entries ?? [])
        {
            if (parsed.Count == MaxEntries)
                throw new EgressPolicyException(list, null, $"{list} holds more than {MaxEntries} entries");
            var one = EgressEntry.Parse(list, entry);
            if (!parsed.Contains(one))
                parsed.Add(one);
        }
        return parsed;
    }
}

/// <summary>One entry of an egress list: a CIDR or a domain name pattern.</summary>
public sealed record EgressEntry
{
    private EgressEntry(string text, IPNetwork? cidr, string? domain, bool wildcard)
    {
        Text = text;
        Cidr = cidr;
        Domain = domain;
        Wildcard = wildcard;
    }

    /// <summary>The normalised entry.</summary>
    public string Text { get; }

    public IPNetwork? Cidr { get; }

    /// <summary>The name, without the <c>*.</c> of a wildcard.</summary>
    public string? Domain { get; }

    /// <summary>Whether the entry matches the names below <see cref="Domain"/> (not the name itself).</summary>
    public bool Wildcard { get; }

    public bool MatchesName(string normalName) =>
        Domain is { } domain && (Wildcard ? normalName.EndsWith("." + domain, StringComparison.Ordinal) : normalName == domain);

    /// <exception cref="EgressPolicyException">The entry is neither an IPv4 CIDR nor a domain name.</exception>
    public static EgressEntry Parse(string list, string? entry)
    {
        var text = entry?.Trim() ?? "";
        if (text.Length == 0)
            throw new EgressPolicyException(list, entry, "an entry is empty");
        if (text.Contains('/') || IPAddress.TryParse(text, out _))
            return ParseCidr(list, entry, text);
        var name = text.TrimEnd('.').ToLowerInvariant();
        var wildcard = name.StartsWith("*.", StringComparison.Ordinal);
        var domain = wildcard ? name[2..] : name;
        if (!IsDomainName(domain))
            throw new EgressPolicyException(list, entry, $"\"{entry}\" is neither a CIDR nor a domain name (letters, digits and hyphens in dot-separated labels, optionally *. in front)");
        return new EgressEntry(name, null, domain, wildcard);
    }

    private static EgressEntry ParseCidr(string list, string? entry, string text)
    {
        var slash = text.IndexOf('/');
        var addressPart = slash < 0 ? text : text[..slash];
        var prefixPart = slash < 0 ? "32" : text[(slash + 1)..];
        var notCidr = new EgressPolicyException(list, entry, $"\"{entry}\" is not a CIDR (a.b.c.d/n, its host bits zero) or an address");
        if (!IPAddress.TryParse(addressPart, out var address) || !int.TryParse(prefixPart, NumberStyles.None, CultureInfo.InvariantCulture, out var prefix))
            throw notCidr;
        if (address.AddressFamily != AddressFamily.InterNetwork)
            throw new EgressPolicyException(list, entry, $"\"{entry}\" is IPv6; sandboxes reach only IPv4");
        // .NET reads shortened (10.1) and octal-looking (010.0.0.1) forms and clears host bits: all three are refused, not guessed at.
        if (addressPart.Split('.') is not { Length: 4 } parts || parts.Any(p => p.Length > 1 && p[0] == '0') || prefix > 32
            || !new IPNetwork(address, prefix).BaseAddress.Equals(address))
            throw notCidr;
        var network = new IPNetwork(address, prefix);
        return new EgressEntry(network.ToString(), network, null, false);
    }

    private static bool IsDomainName(string name)
    {
        if (name.Length is 0 or > 253)
            return false;
        foreach (var label in name.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
                return false;
            if (!label.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_'))
                return false;
        }
        // All digits and dots is an address gone wrong (999.1.1.1), not a name.
        return !name.All(c => char.IsAsciiDigit(c) || c == '.');
    }
}

/// <summary>An egress entry or list that is not valid; names the entry. Maps to BAD_USER_INPUT.</summary>
public sealed class EgressPolicyException(string list, string? entry, string reason)
    : ArgumentException($"network.{list}: {reason}.")
{
    public string List { get; } = list;

    public string? Entry { get; } = entry;
}

/// <summary>
/// Optional for a network plugin (since Abstractions 1.3): per-sandbox egress policy, applied live.
/// A plugin without it keeps one host-wide policy, and the silo refuses a sandbox's own.
/// </summary>
public interface INetworkEgress
{
    /// <summary>The host's policy, for a sandbox that says nothing (the plugin's configuration).</summary>
    EgressPolicy DefaultPolicy { get; }

    /// <summary>
    /// <see cref="INetwork.AllocateAsync"/> with <paramref name="policy"/> in force from the start, in
    /// one pass (a create or restore does not build the slot's rules twice, once for the default).
    /// </summary>
    Task<NetworkSlot> AllocateAsync(string sandboxId, EgressPolicy policy, CancellationToken cancellationToken);

    /// <summary>
    /// Puts <paramref name="policy"/> in force for the slot, replacing the one before in one step
    /// (nothing half-applied; established connections go on). Called after allocation before the VM
    /// starts, on every change, and when a silo adopts a running slot after a restart. Idempotent.
    /// </summary>
    Task ApplyEgressAsync(NetworkSlot slot, EgressPolicy policy, CancellationToken cancellationToken);
}
