using System.Diagnostics;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Wrenn.Plugins.Network.Netns;
using Wrenn.Testing;
using Wrenn.Testing.Egress;

namespace Wrenn.Network.Tests;

/// <summary>
/// Per-sandbox egress policy on real namespaces and nftables: a stand-in guest in each slot (see
/// <see cref="StandInGuest"/>) resolves the test DNS server's names through the plugin's resolver and
/// connects to the test's upstream hosts; nothing leaves the machine.
/// </summary>
public sealed class EgressTests(EgressFixture fixture) : IClassFixture<EgressFixture>
{
    private const string Unreachable = "unreachable";

    private IReadOnlyList<string> Hosts => fixture.Hosts.Addresses;

    private static string Name(string label) => TestDnsServer.Name(label);

    private static EgressPolicy Closed(params string[] allow) => EgressPolicy.Create(false, allow, null);

    [Fact]
    public async Task An_allowed_CIDR_is_reached_and_with_the_internet_on_a_denied_one_is_not()
    {
        using var gate = await MachineGate.EnterAsync();
        await using var sandbox = await fixture.StartAsync("sb-cidrs", Closed($"{Hosts[0]}/32"));

        Assert.Equal(Hosts[0], await sandbox.Guest.ConnectAsync(Hosts[0]));
        Assert.Equal(Unreachable, await sandbox.Guest.ConnectAsync(Hosts[1]));

        await sandbox.ApplyAsync(EgressPolicy.Create(true, null, [Hosts[1]]));
        Assert.Equal(Hosts[0], await sandbox.Guest.ConnectAsync(Hosts[0]));
        Assert.Equal(Hosts[2], await sandbox.Guest.ConnectAsync(Hosts[2]));
        Assert.Equal(Unreachable, await sandbox.Guest.ConnectAsync(Hosts[1]));
    }

    [Fact]
    public async Task A_denied_CIDR_beats_an_allowed_CIDR_and_an_allowed_name()
    {
        using var gate = await MachineGate.EnterAsync();
        await using var sandbox = await fixture.StartAsync("sb-deny-wins",
            EgressPolicy.Create(false, [fixture.Hosts.Subnet, Name("multi")], [Hosts[1]]));

        Assert.Equal(Hosts[0], await sandbox.Guest.ConnectAsync(Hosts[0]));
        Assert.Equal(Unreachable, await sandbox.Guest.ConnectAsync(Hosts[1]));
        var answer = await sandbox.Guest.ResolveAsync(Name("multi"));
        Assert.Contains(Hosts[1], answer.AddressList);
        Assert.Equal(Unreachable, await sandbox.Guest.ConnectAsync(Hosts[1]));
    }

    [Fact]
    public async Task An_allowed_name_resolves_and_its_address_is_reached_only_once_resolved()
    {
        using var gate = await MachineGate.EnterAsync();
        await using var sandbox = await fixture.StartAsync("sb-name", Closed(Name("one")));

        Assert.Equal(Unreachable, await sandbox.Guest.ConnectAsync(Hosts[0]));
        var answer = await sandbox.Guest.ResolveAsync(Name("one"));

        Assert.Equal("NOERROR", answer.Code);
        Assert.Equal([Hosts[0]], answer.AddressList);
        Assert.Equal(Hosts[0], await sandbox.Guest.ConnectAsync(Hosts[0]));
    }

    [Fact]
    public async Task A_name_not_allowed_gets_NXDOMAIN_is_never_asked_upstream_and_its_address_is_dropped()
    {
        using var gate = await MachineGate.EnterAsync();
        await using var sandbox = await fixture.StartAsync("sb-refused", Closed(Name("one")));

        var answer = await sandbox.Guest.ResolveAsync(Name("denied"));

        Assert.Equal("NXDOMAIN", answer.Code);
        Assert.Empty(answer.Addresses);
        Assert.DoesNotContain(Name("denied"), fixture.Dns.Asked);
        Assert.Equal(Unreachable, await sandbox.Guest.ConnectAsync(Hosts[2]));
    }

    [Fact]
    public async Task A_wildcard_allows_the_names_below_its_domain_but_not_the_domain()
    {
        using var gate = await MachineGate.EnterAsync();
        await using var sandbox = await fixture.StartAsync("sb-wildcard", Closed("*." + Name("wild")));

        Assert.Equal([Hosts[0]], (await sandbox.Guest.ResolveAsync("a." + Name("wild"))).AddressList);
        Assert.Equal([Hosts[1]], (await sandbox.Guest.ResolveAsync("B." + Name("wild"))).AddressList);
        Assert.Equal("NXDOMAIN", (await sandbox.Guest.ResolveAsync(Name("wild"))).Code);

        Assert.Equal(Hosts[0], await sandbox.Guest.ConnectAsync(Hosts[0]));
        Assert.Equal(Hosts[1], await sandbox.Guest.ConnectAsync(Hosts[1]));
        Assert.Equal(Unreachable, await sandbox.Guest.ConnectAsync(Hosts[2]));
    }

    [Fact]
    public async Task Every_address_of_a_name_with_several_is_admitted()
    {
        using var gate = await MachineGate.EnterAsync();
        await using var sandbox = await fixture.StartAsync("sb-several", Closed(Name("multi")));

        var answer = await sandbox.Guest.ResolveAsync(Name("multi"));

        Assert.Equal(Hosts.Order(), answer.AddressList.Order());
        foreach (var host in Hosts)
            Assert.Equal(host, await sandbox.Guest.ConnectAsync(host));
    }

    [Fact]
    public async Task A_CNAME_chain_reaches_the_guest_whole_and_its_targets_address_is_admitted()
    {
        using var gate = await MachineGate.EnterAsync();
        await using var sandbox = await fixture.StartAsync("sb-cname", Closed(Name("alias")));

        var answer = await sandbox.Guest.ResolveAsync(Name("alias"));

        Assert.Equal([Name("target")], answer.Cnames);
        Assert.Equal([Hosts[1]], answer.AddressList);
        Assert.Equal(Hosts[1], await sandbox.Guest.ConnectAsync(Hosts[1]));
        // The target's name itself is not allowed.
        Assert.Equal("NXDOMAIN", (await sandbox.Guest.ResolveAsync(Name("target"))).Code);
    }

    [Fact]
    public async Task Names_resolve_over_TCP_too()
    {
        using var gate = await MachineGate.EnterAsync();
        await using var sandbox = await fixture.StartAsync("sb-tcp", Closed(Name("one")));

        var answer = await sandbox.Guest.ResolveAsync(Name("one"), tcp: true);

        Assert.Equal([Hosts[0]], answer.AddressList);
        Assert.Equal(Hosts[0], await sandbox.Guest.ConnectAsync(Hosts[0]));
        Assert.Equal("NXDOMAIN", (await sandbox.Guest.ResolveAsync(Name("denied"), tcp: true)).Code);
    }

    [Fact]
    public async Task After_the_TTL_new_connections_are_dropped_while_an_established_one_goes_on_and_resolving_again_refreshes_it()
    {
        using var gate = await MachineGate.EnterAsync();
        await using var sandbox = await fixture.StartAsync("sb-ttl", Closed(Name("short")));
        var guest = sandbox.Guest;
        var host = Hosts[2];
        var ttl = TimeSpan.FromSeconds(TestDnsServer.ShortTtl);

        var first = Stopwatch.StartNew();
        Assert.Equal([(host, TestDnsServer.ShortTtl)], (await guest.ResolveAsync(Name("short"))).Addresses);
        Assert.Equal(host, await guest.OpenAsync("kept", host));
        // Resolving again before the TTL runs out admits the address for a TTL from then.
        await Until(first, ttl * 0.6);
        var second = Stopwatch.StartNew();
        Assert.Equal([host], (await guest.ResolveAsync(Name("short"))).AddressList);
        await Until(first, ttl * 1.3);
        Assert.True(second.Elapsed < ttl * 0.9, "the machine was too slow for this check of the refresh");
        Assert.Equal(host, await guest.ConnectAsync(host));

        await Until(second, ttl + TimeSpan.FromSeconds(0.5));
        Assert.Equal(Unreachable, await guest.ConnectAsync(host));
        Assert.Equal("still-here", await guest.EchoAsync("kept", "still-here"));
    }

    [Fact]
    public async Task A_policy_applied_live_takes_effect_on_the_same_slot_and_established_connections_go_on()
    {
        using var gate = await MachineGate.EnterAsync();
        await using var sandbox = await fixture.StartAsync("sb-live", Closed(Name("one")));
        var index = sandbox.Slot.Index;
        Assert.Equal([Hosts[0]], (await sandbox.Guest.ResolveAsync(Name("one"))).AddressList);
        Assert.Equal(Hosts[0], await sandbox.Guest.OpenAsync("kept", Hosts[0]));

        await sandbox.ApplyAsync(Closed(Name("alias")));

        // The name no longer allowed has lost its addresses; the connection opened before goes on.
        Assert.Equal(Unreachable, await sandbox.Guest.ConnectAsync(Hosts[0]));
        Assert.Equal("NXDOMAIN", (await sandbox.Guest.ResolveAsync(Name("one"))).Code);
        Assert.Equal("ping", await sandbox.Guest.EchoAsync("kept", "ping"));
        Assert.Equal([Hosts[1]], (await sandbox.Guest.ResolveAsync(Name("alias"))).AddressList);
        Assert.Equal(Hosts[1], await sandbox.Guest.ConnectAsync(Hosts[1]));
        Assert.Equal(index, sandbox.Slot.Index);
        Assert.Contains(await fixture.Network.DiscoverAsync(fixture.Netns.Owner, CancellationToken.None), s => s.Index == index);
    }

    [Fact]
    public async Task With_the_internet_on_every_name_resolves_but_a_denied_one()
    {
        using var gate = await MachineGate.EnterAsync();
        await using var sandbox = await fixture.StartAsync("sb-open", EgressPolicy.Create(true, null, ["*." + Name("wild")]));

        Assert.Equal([Hosts[0]], (await sandbox.Guest.ResolveAsync(Name("one"))).AddressList);
        Assert.Equal("NXDOMAIN", (await sandbox.Guest.ResolveAsync("a." + Name("wild"))).Code);
        Assert.Equal("NXDOMAIN", (await sandbox.Guest.ResolveAsync(Name("nowhere"))).Code); // upstream's own NXDOMAIN
        Assert.Equal(Hosts[1], await sandbox.Guest.ConnectAsync(Hosts[1]));
    }

    [Fact]
    public async Task A_slot_is_built_with_the_default_policy_and_the_guest_is_told_its_gateway_as_DNS_server()
    {
        using var gate = await MachineGate.EnterAsync();
        await using var sandbox = await fixture.StartAsync("sb-default");

        Assert.Equal(EgressPolicy.Closed, fixture.Network.DefaultPolicy);
        Assert.Equal(EgressPolicy.Open, fixture.NewNetwork(egress: true).DefaultPolicy);
        Assert.Equal(SlotAddresses.TapAddress, sandbox.Slot.Guest.DnsServer);
        Assert.Equal("NXDOMAIN", (await sandbox.Guest.ResolveAsync(Name("one"))).Code);
        Assert.Equal(Unreachable, await sandbox.Guest.ConnectAsync(Hosts[0]));
    }

    [Fact]
    public async Task An_upstream_that_does_not_answer_gets_the_guest_SERVFAIL()
    {
        using var gate = await MachineGate.EnterAsync();
        // Nothing listens on port 1 of the loopback: refused at once, over UDP and TCP.
        var network = fixture.NewNetwork(upstream: "127.0.0.1:1");
        await using var sandbox = await fixture.StartAsync("sb-servfail", Closed(Name("one")), network);

        Assert.Equal("SERVFAIL", (await sandbox.Guest.ResolveAsync(Name("one"))).Code);
    }

    [Fact]
    public async Task After_a_restart_the_new_instance_adopts_the_slot_and_its_resolver_answers_it()
    {
        using var gate = await MachineGate.EnterAsync();
        var before = fixture.NewNetwork();
        var policy = Closed(Name("one"), Name("multi"));
        await using var sandbox = await fixture.StartAsync("sb-restart", policy, before);
        Assert.Equal([Hosts[0]], (await sandbox.Guest.ResolveAsync(Name("one"))).AddressList);
        var oldPort = before.ResolverPort;

        await before.DisposeAsync(); // the silo stops: its resolver goes, the slot stays
        Assert.NotEqual("NOERROR", (await sandbox.Guest.ResolveAsync(Name("one"))).Code); // no resolver at the old port
        var after = fixture.NewNetwork();
        var adopted = Assert.Single(await after.DiscoverAsync(fixture.Netns.Owner, CancellationToken.None), s => s.Index == sandbox.Slot.Index);
        sandbox.AdoptedBy(after, adopted);
        await sandbox.ApplyAsync(policy);

        Assert.NotEqual(oldPort, after.ResolverPort);
        // The same policy keeps what was admitted; the resolver answers at its new port.
        Assert.Equal(Hosts[0], await sandbox.Guest.ConnectAsync(Hosts[0]));
        Assert.Equal(Hosts.Order(), (await sandbox.Guest.ResolveAsync(Name("multi"))).AddressList.Order());
        Assert.Equal(Hosts[2], await sandbox.Guest.ConnectAsync(Hosts[2]));
        await sandbox.ReleaseAsync();
        Assert.False(after.ResolverKnows(adopted));
    }

    [Fact]
    public async Task Release_removes_the_namespace_link_host_table_and_resolver_registration()
    {
        using var gate = await MachineGate.EnterAsync();
        var sandbox = await fixture.StartAsync("sb-release", Closed(Name("one")));
        Assert.Equal([Hosts[0]], (await sandbox.Guest.ResolveAsync(Name("one"))).AddressList);
        Assert.True(fixture.Network.ResolverKnows(sandbox.Slot));

        await sandbox.ReleaseAsync();

        Assert.False(fixture.Network.ResolverKnows(sandbox.Slot));
        var namespaces = await HostCommand.RunAsync("ip", ["netns", "list"], CancellationToken.None);
        Assert.DoesNotContain(sandbox.Slot.Namespace + " ", namespaces + " ");
        var links = await HostCommand.RunAsync("ip", ["-o", "link", "show"], CancellationToken.None);
        Assert.DoesNotContain(sandbox.Slot.Properties["hostLink"] + "@", links);
        Assert.DoesNotContain(NetnsNetwork.HostTable(fixture.Netns.Owner), await HostCommand.RunAsync("nft", ["list", "tables"], CancellationToken.None));
        Assert.DoesNotContain(await fixture.Network.DiscoverAsync(fixture.Netns.Owner, CancellationToken.None), s => s.Index == sandbox.Slot.Index);
    }

    [Fact]
    public async Task A_slot_allocated_after_the_last_one_went_gets_the_host_table_back_and_its_policy_from_the_start()
    {
        using var gate = await MachineGate.EnterAsync();
        var first = await fixture.StartAsync("sb-first", Closed(Name("one")));
        await first.ReleaseAsync();
        Assert.DoesNotContain(NetnsNetwork.HostTable(fixture.Netns.Owner), await HostCommand.RunAsync("nft", ["list", "tables"], CancellationToken.None));

        // The plugin loaded the host table once and skips it for later slots: after the last slot
        // went (and the table with it) the next allocation must load it again.
        await using var second = await fixture.StartAsync("sb-second", Closed(Name("alias")));
        Assert.Contains(NetnsNetwork.HostTable(fixture.Netns.Owner), await HostCommand.RunAsync("nft", ["list", "tables"], CancellationToken.None));
        Assert.Equal([Hosts[1]], (await second.Guest.ResolveAsync(Name("alias"))).AddressList);
        Assert.Equal(Hosts[1], await second.Guest.ConnectAsync(Hosts[1]));
        Assert.Equal("NXDOMAIN", (await second.Guest.ResolveAsync(Name("one"))).Code);
        Assert.Equal(Unreachable, await second.Guest.ConnectAsync(Hosts[0]));
    }

    [Fact]
    public async Task A_slots_namespace_asks_for_the_guests_MAC_again_within_50_ms_not_after_a_second()
    {
        using var gate = await MachineGate.EnterAsync();
        await using var sandbox = await fixture.StartAsync("sb-arp");

        // A restored guest misses the first ARP request; the kernel's default retry (1 s) would hold the silo's first SYN that long.
        var retry = await HostCommand.RunAsync("ip", ["netns", "exec", sandbox.Slot.Namespace, "sysctl", "-n", $"net.ipv4.neigh.{NftRules.TapName}.retrans_time_ms"], CancellationToken.None);
        Assert.InRange(int.Parse(retry.Trim(), System.Globalization.CultureInfo.InvariantCulture), 1, 100); // kept in jiffies: 50 reads back as 52 at HZ=250
        Assert.Equal("1", (await HostCommand.RunAsync("ip", ["netns", "exec", sandbox.Slot.Namespace, "sysctl", "-n", "net.ipv4.ip_forward"], CancellationToken.None)).Trim());
    }

    private static async Task Until(Stopwatch since, TimeSpan elapsed)
    {
        var left = elapsed - since.Elapsed;
        if (left > TimeSpan.Zero)
            await Task.Delay(left);
    }
}
