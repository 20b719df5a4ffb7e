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
///  resolver 0.0.0.0:{port}  ◄──────  DNAT guest :53 → 10.x.y.1:{port}, MASQUERADE out of veth0
/// </code>
/// The host reaches the guest at 10.x.y.2; every guest has the same address, so a snapshot restores
/// into any slot. Rules live in an nftables table inside the namespace and vanish with it. What a
/// guest may reach is its slot's <see cref="EgressPolicy"/> (<see cref="ApplyEgressAsync"/>): CIDRs in
/// sets of that table, names through the plugin's resolver (<see cref="EgressResolver"/>), which
/// admits the addresses of allowed names to the table for their TTL.
/// </summary>
public sealed partial class NetnsNetwork : INetwork, INetworkEgress, IAsyncDisposable
{
    private readonly NetnsOptions _options;
    private readonly PluginHost _host;
    private readonly SlotAllocator _slots;
    private readonly IPAddress? _dnsServer;
    private readonly IReadOnlyList<IPEndPoint>? _configuredUpstream;
    private readonly ILogger<NetnsNetwork> _logger;
    private readonly SemaphoreSlim _resolverStart = new(1, 1);
    private EgressResolver? _resolver;
    private readonly SemaphoreSlim _hostTableLock = new(1, 1);
    private int? _hostTablePort;
    private bool _disposed;

    /// <exception cref="OptionsValidationException">A setting is not valid; the message names it.</exception>
    public NetnsNetwork(IOptions<NetnsOptions> options, PluginHost host, ILogger<NetnsNetwork> logger)
    {
        HostObjectNames.ValidateOwnerPrefix(host.OwnerPrefix);
        _options = options.Value;
        _host = host;
        _logger = logger;
        _slots = new SlotAllocator(_options.SlotDirectory, _options.MaxSlots);
        var errors = new List<string>();
        if (_options.DnsServer is { Length: > 0 } dns)
        {
            if (IPAddress.TryParse(dns, out var address))
                _dnsServer = address;
            else
                errors.Add($"Wrenn:Plugins:netns:DnsServer: \"{dns}\" is not an IP address.");
        }
        if (_options.Resolver.Port is < 0 or > 65535)
            errors.Add($"Wrenn:Plugins:netns:Resolver:Port: {_options.Resolver.Port} is not a port; give 1–65535, or 0 for a free one.");
        if (_options.Resolver.Upstream is { Length: > 0 } upstream)
        {
            try
            {
                _configuredUpstream = EgressResolver.Upstream(upstream);
            }
            catch (FormatException e)
            {
                errors.Add(e.Message);
            }
        }
        if (errors.Count > 0)
            throw new OptionsValidationException("netns", typeof(NetnsOptions), errors);
    }

    /// <summary>The policy of a sandbox that says nothing: <see cref="NetnsOptions.Egress"/> on, open; off, closed.</summary>
    public EgressPolicy DefaultPolicy => _options.Egress ? EgressPolicy.Open : EgressPolicy.Closed;

    public Task<NetworkSlot> AllocateAsync(string sandboxId, CancellationToken cancellationToken) =>
        AllocateAsync(sandboxId, DefaultPolicy, cancellationToken);

    public async Task<NetworkSlot> AllocateAsync(string sandboxId, EgressPolicy policy, CancellationToken cancellationToken)
    {
        var resolver = await ResolverAsync(cancellationToken);
        var index = _slots.Take(_host.OwnerPrefix, sandboxId);
        var slot = Describe(index, sandboxId);
        try
        {
            await BuildAsync(slot, cancellationToken);
            await LoadEgressAsync(slot, policy, resolver, cancellationToken);
            await EnsureHostTableAsync(resolver.Port, cancellationToken);
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

    /// <summary>
    /// Puts <paramref name="policy"/> in force for <paramref name="slot"/>: one <c>nft -f</c> transaction
    /// replaces the namespace's sets and rules (and its DNAT to this resolver's port, which may be new
    /// after a silo restart), the owner's root table is rewritten for the port, and the resolver
    /// answers the slot's names by the policy. A changed policy empties the resolved set; the same one
    /// (as when a restarted silo adopts the slot) keeps it. Established connections go on.
    /// </summary>
    public async Task ApplyEgressAsync(NetworkSlot slot, EgressPolicy policy, CancellationToken cancellationToken)
    {
        var resolver = await ResolverAsync(cancellationToken);
        await LoadEgressAsync(slot, policy, resolver, cancellationToken);
        await EnsureHostTableAsync(resolver.Port, cancellationToken, rewrite: true);
        LogEgressApplied(slot.Index, slot.Namespace, policy);
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

    /// <summary>The resolver's port, once it runs (it starts with the first allocation or applied policy).</summary>
    internal int? ResolverPort => _resolver?.Port;

    /// <summary>Whether the resolver answers for the slot (released slots it does not).</summary>
    internal bool ResolverKnows(NetworkSlot slot) => _resolver?.Knows(slot.HostAddress) ?? false;

    /// <summary>Stops the resolver; the slots and their rules stay (a restarted silo adopts them).</summary>
    public async ValueTask DisposeAsync()
    {
        await _resolverStart.WaitAsync();
        try
        {
            _disposed = true;
            if (_resolver is not null)
                await _resolver.DisposeAsync();
            _resolver = null;
        }
        finally
        {
            _resolverStart.Release();
        }
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
            NftRules.TapName,
            SlotAddresses.NamespaceEnd(_options.SlotBaseAddress, index),
            // The guest's DNS server is its gateway, whose port 53 the namespace sends to the resolver.
            new GuestNetwork(SlotAddresses.GuestAddress, SlotAddresses.GuestPrefixLength, SlotAddresses.TapAddress,
                SlotAddresses.GuestMac, _dnsServer ?? SlotAddresses.TapAddress),
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
        if (Directory.Exists($"/sys/class/net/{hostLink}"))
            await HostCommand.TryRunAsync("ip", ["link", "delete", hostLink], ct);
        if (File.Exists(Path.Combine("/run/netns", ns)))
            await HostCommand.TryRunAsync("ip", ["netns", "delete", ns], ct);
        // Two ip batches (one process each) rather than a process per command: a slot is on the
        // path of every create and resume, and each spawn costs milliseconds.
        await IpBatchAsync(null, ct,
            $"netns add {ns}",
            $"link add {hostLink} type veth peer name {NftRules.InnerVeth} netns {ns}",
            $"addr add {hostEnd}/30 dev {hostLink}",
            $"link set {hostLink} up");
        await IpBatchAsync(ns, ct,
            "link set lo up",
            $"addr add {nsEnd}/30 dev {NftRules.InnerVeth}",
            $"link set {NftRules.InnerVeth} up",
            $"route add default via {hostEnd}",
            $"tuntap add dev {NftRules.TapName} mode tap",
            $"addr add {SlotAddresses.TapAddress}/{SlotAddresses.GuestPrefixLength} dev {NftRules.TapName}",
            $"link set {NftRules.TapName} up");
        // Forwarding inside the namespace is the namespace's own setting, not the machine's. The
        // TAP's ARP is retried every 50 ms, not every second: the first packet to a guest that is
        // still being restored sends an ARP request nobody answers, and the kernel would hold the
        // connection's SYNs for its next try a full second later.
        await HostCommand.RunAsync("ip", ["netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1",
            $"net.ipv4.neigh.{NftRules.TapName}.retrans_time_ms={ArpRetryMilliseconds}"], ct);
        // Any policy may admit something, so every link forwards (what passes is the namespace's
        // filter); only this link: the machine-wide switch stays as the administrator set it.
        await File.WriteAllTextAsync($"/proc/sys/net/ipv4/conf/{hostLink}/forwarding", "1", ct);
    }

    /// <summary>How often the namespace asks again for the guest's MAC address (net.ipv4.neigh.tap0.retrans_time_ms).</summary>
    internal const int ArpRetryMilliseconds = 50;

    /// <summary>Runs <paramref name="commands"/> in one <c>ip -batch</c>, inside <paramref name="ns"/> when given; the first failure stops it and fails the call.</summary>
    private static Task<string> IpBatchAsync(string? ns, CancellationToken ct, params string[] commands) =>
        HostCommand.RunAsync("ip", ns is null ? ["-batch", "-"] : ["-n", ns, "-batch", "-"], ct, string.Join('\n', commands) + "\n");

    /// <summary>
    /// Loads the slot's namespace table for <paramref name="policy"/> and this resolver's port, and has
    /// the resolver answer the slot by it. The resolved set is flushed when the policy changed: from
    /// the one this resolver held, or — one it never held for the slot, after a restart — from the one
    /// the table was built with (its fingerprint is in the table).
    /// </summary>
    private Task LoadEgressAsync(NetworkSlot slot, EgressPolicy policy, EgressResolver resolver, CancellationToken ct) =>
        resolver.SetPolicyAsync(slot.HostAddress, slot.Namespace, policy, async (previous, token) =>
        {
            var flush = previous is not null
                ? !previous.Equals(policy)
                : await AppliedFingerprintAsync(slot, token) != NftRules.Fingerprint(policy);
            var hostEnd = slot.Properties.TryGetValue("hostEnd", out var end) ? IPAddress.Parse(end) : SlotAddresses.HostEnd(_options.SlotBaseAddress, slot.Index);
            var rules = new NftRules.NamespaceRuleSet(slot.HostAddress, hostEnd, resolver.Port, policy, flush);
            await HostCommand.RunAsync("ip", ["netns", "exec", slot.Namespace, "nft", "-f", "-"], token, NftRules.Namespace(rules));
            return flush;
        }, ct);

    private static async Task<string?> AppliedFingerprintAsync(NetworkSlot slot, CancellationToken ct)
    {
        var listing = await HostCommand.TryRunAsync("ip",
            ["netns", "exec", slot.Namespace, "nft", "list", "chain", "ip", NftRules.NamespaceTable, "egress"], ct);
        return listing.ExitCode == 0 ? NftRules.AppliedFingerprint(listing.Stdout) : null;
    }

    /// <summary>The owner's root-namespace table (<see cref="NftRules.HostTable"/>), for the resolver's current port.</summary>
    private async Task EnsureHostTableAsync(int resolverPort, CancellationToken ct, bool rewrite = false)
    {
        // The table only changes with the resolver's port: once this process loaded it, a new slot
        // needs no rewrite (the release of the last slot deletes it and clears this). A live change
        // or an adoption rewrites it anyway, which repairs a table removed behind the plugin's back.
        await _hostTableLock.WaitAsync(ct);
        try
        {
            if (!rewrite && _hostTablePort == resolverPort)
                return;
            await HostCommand.RunAsync("nft", ["-f", "-"], ct, NftRules.HostTable(HostTable(_host.OwnerPrefix), _host.OwnerPrefix,
                SlotAddresses.Range(_options.SlotBaseAddress, _options.MaxSlots), resolverPort));
            _hostTablePort = resolverPort;
        }
        finally
        {
            _hostTableLock.Release();
        }
    }

    /// <summary>The root-namespace nftables table of an owner (removed when its last slot goes).</summary>
    public static string HostTable(string ownerPrefix) => $"wrenn_{ownerPrefix}";

    /// <summary>The resolver, started on first need (the port is chosen then: 0 is any free one).</summary>
    private async Task<EgressResolver> ResolverAsync(CancellationToken ct)
    {
        if (_resolver is { } running)
            return running;
        await _resolverStart.WaitAsync(ct);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _resolver ??= EgressResolver.Start(_options.Resolver.Port, _configuredUpstream ?? EgressResolver.Upstream(null), _logger);
        }
        finally
        {
            _resolverStart.Release();
        }
    }

    private async Task TeardownAsync(NetworkSlot slot, CancellationToken ct)
    {
        var owner = slot.Properties.TryGetValue("owner", out var o) ? o : _host.OwnerPrefix;
        if (_resolver is { } resolver)
            await resolver.ForgetAsync(slot.HostAddress);
        // Deleting the host end removes the veth pair at once (the kernel tears down a deleted
        // namespace's links asynchronously); deleting the namespace removes its TAP and nft table.
        if (slot.Properties.TryGetValue("hostLink", out var hostLink))
            await HostCommand.TryRunAsync("ip", ["link", "delete", hostLink], ct);
        await HostCommand.TryRunAsync("ip", ["netns", "delete", slot.Namespace], ct);
        _slots.Free(slot.Index);
        // Under the table's lock: an allocation between the check and the delete would lose its table.
        await _hostTableLock.WaitAsync(CancellationToken.None);
        try
        {
            if (!_slots.OwnedBy(owner).Any())
            {
                if (owner == _host.OwnerPrefix)
                    _hostTablePort = null;
                await HostCommand.TryRunAsync("nft", ["delete", "table", "ip", HostTable(owner)], ct);
            }
        }
        finally
        {
            _hostTableLock.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Network slot {Index} ready: netns {Namespace}, guest reachable at {HostAddress} for {SandboxId}")]
    private partial void LogAllocated(int index, string @namespace, IPAddress hostAddress, string sandboxId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Network slot {Index} (netns {Namespace}) egress: {Policy}")]
    private partial void LogEgressApplied(int index, string @namespace, EgressPolicy policy);

    [LoggerMessage(Level = LogLevel.Information, Message = "Network slot {Index} released: netns {Namespace} removed")]
    private partial void LogReleased(int index, string @namespace);
}
