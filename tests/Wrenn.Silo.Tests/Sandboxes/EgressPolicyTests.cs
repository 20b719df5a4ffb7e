using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Wrenn.Testing;
using Wrenn.Testing.Egress;

namespace Wrenn.Silo.Tests.Sandboxes;

/// <summary>
/// A silo whose sandboxes' resolver asks the test's own DNS server, and upstream hosts of the test's
/// own (a namespace with three addresses) that its guests can be allowed to reach. Nothing goes
/// beyond this machine; the host's default is closed, as it ships.
/// </summary>
public sealed class EgressSiloFixture : IAsyncLifetime
{
    private string _owner = "";

    public UpstreamHosts Upstream { get; private set; } = null!;

    public TestDnsServer Dns { get; private set; } = null!;

    public SiloFixture Silo { get; private set; } = null!;

    /// <summary>The first admin key (a restarted silo does not show it again).</summary>
    public string AdminKey { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await HostSweep.RemoveLeftoversAsync();
        _owner = TestPrefix.NewOwner();
        Upstream = await UpstreamHosts.CreateAsync(_owner);
        Dns = TestDnsServer.Start(Upstream);
        Silo = new SiloFixture
        {
            Configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Wrenn:Plugins:netns:Resolver:Upstream"] = Dns.Endpoint,
            }).Build(),
        };
        await Silo.InitializeAsync();
        AdminKey = Silo.Host.FirstAdminKey!;
    }

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        Dns.Dispose();
        await Upstream.DisposeAsync();
        TestPrefix.Retire(_owner);
    }
}

/// <summary>
/// Egress policies through the API on real VMs: CIDRs and names (the guest's own resolver, glibc,
/// asks the silo's resolver), a live change, pause/resume, a silo restart that re-adopts the VM,
/// a template child inheriting the policy, and bad input refused with nothing changed. The
/// mechanics (TTL expiry, CNAMEs, several addresses) are tested on the plugin itself
/// (tests/Wrenn.Network.Tests/EgressTests.cs).
/// </summary>
public sealed class EgressPolicyTests(EgressSiloFixture fixture) : IClassFixture<EgressSiloFixture>
{
    private const string SandboxFields = "id state network { internet allow deny }";

    /// <summary>Resolves names and connects to hosts from inside the guest; each upstream host answers with its own address.</summary>
    private const string Probe = """
        import json, socket, sys
        out = {}
        for kind, target in json.loads(sys.argv[1]):
            key = kind + ' ' + target
            if kind == 'resolve':
                try:
                    out[key] = sorted({a[4][0] for a in socket.getaddrinfo(target, 9191, socket.AF_INET, socket.SOCK_STREAM)})
                except socket.gaierror as e:
                    out[key] = 'NXDOMAIN' if e.errno == socket.EAI_NONAME else 'resolver error %d' % e.errno
                continue
            try:
                s = socket.create_connection((target, 9191), timeout=3)
                try:
                    out[key] = s.makefile().readline().strip()
                finally:
                    s.close()
            except socket.timeout:
                out[key] = 'dropped'
            except socket.gaierror as e:
                out[key] = 'NXDOMAIN' if e.errno == socket.EAI_NONAME else 'resolver error %d' % e.errno
            except OSError as e:
                out[key] = 'error %d' % e.errno
        print(json.dumps(out))
        """;

    private string[] Hosts => [.. fixture.Upstream.Addresses];

    [Fact]
    public async Task A_policy_of_CIDRs_and_names_is_enforced_changed_live_and_kept_across_pause_resume_restart_and_template_children()
    {
        using var gate = await MachineGate.EnterAsync();
        var h = Hosts;
        var one = TestDnsServer.Name("one");
        var multi = TestDnsServer.Name("multi");

        // Closed but for one name, the names below wild., and one address.
        var created = await GraphQLAsync($$"""
            mutation($network: NetworkPolicyInput) { createSandbox(input: { template: "base", network: $network }) { {{SandboxFields}} } }
            """, new { network = new { internet = false, allow = new[] { one.ToUpperInvariant() + ".", "*." + TestDnsServer.Name("wild"), h[2] } } });
        var sandbox = created["createSandbox"]!;
        var id = (string)sandbox["id"]!;
        try
        {
            AssertPolicy(sandbox, internet: false, allow: [one, "*." + TestDnsServer.Name("wild"), $"{h[2]}/32"], deny: []);
            await AssertProbeAsync(id, new()
            {
                [$"resolve {one}"] = new[] { h[0] },
                [$"connect {one}"] = h[0],
                [$"resolve {TestDnsServer.Name("a.wild")}"] = new[] { h[0] },
                [$"resolve {TestDnsServer.Name("wild")}"] = "NXDOMAIN", // a wildcard is the names below, not the name
                [$"resolve {multi}"] = "NXDOMAIN",
                [$"connect {h[1]}"] = "dropped", // no rule admits it
                [$"connect {h[2]}"] = h[2], // the CIDR does
            });

            // Live: the name goes (and the addresses it admitted with it), another comes, a deny CIDR beats it.
            var updated = await GraphQLAsync($$"""
                mutation($id: ID!, $network: NetworkPolicyInput!) { updateSandboxNetwork(id: $id, network: $network) { {{SandboxFields}} } }
                """, new { id, network = new { internet = false, allow = new[] { multi }, deny = new[] { h[2] } } });
            AssertPolicy(updated["updateSandboxNetwork"]!, internet: false, allow: [multi], deny: [$"{h[2]}/32"]);
            var afterUpdate = new Dictionary<string, object>
            {
                [$"connect {h[0]}"] = "dropped", // admitted by the old policy's name, flushed with it
                [$"resolve {one}"] = "NXDOMAIN",
                [$"resolve {multi}"] = h.Order(StringComparer.Ordinal).ToArray(),
                [$"connect {h[1]}"] = h[1], // admitted by the resolution just before
                [$"connect {h[2]}"] = "dropped", // resolved, but denied by CIDR
            };
            await AssertProbeAsync(id, afterUpdate);

            // Bad input names the entry and changes nothing.
            var refused = await GraphQLErrorAsync("""
                mutation($id: ID!) { updateSandboxNetwork(id: $id, network: { internet: true, allow: ["pypi.org"], deny: ["10.0.0.1/8"] }) { id } }
                """, new { id });
            Assert.Equal("BAD_USER_INPUT", (string)refused["extensions"]!["code"]!);
            Assert.Contains("10.0.0.1/8", (string)refused["message"]!);
            AssertPolicy((await SandboxAsync(id))!, internet: false, allow: [multi], deny: [$"{h[2]}/32"]);

            // Pause and resume: a new slot, the same policy.
            await GraphQLAsync("mutation($id: ID!) { pauseSandbox(id: $id) { id } }", new { id });
            var resumed = await GraphQLAsync($$"""mutation($id: ID!) { resumeSandbox(id: $id) { {{SandboxFields}} } }""", new { id });
            AssertPolicy(resumed["resumeSandbox"]!, internet: false, allow: [multi], deny: [$"{h[2]}/32"]);
            await AssertProbeAsync(id, afterUpdate);

            // A silo restart re-adopts the VM: its new resolver knows the slot's policy again. (The
            // addresses admitted before are still in the namespace's set for their TTL: h[0] is not asked.)
            await fixture.Silo.RestartAsync();
            AssertPolicy((await SandboxAsync(id))!, internet: false, allow: [multi], deny: [$"{h[2]}/32"]);
            await AssertProbeAsync(id, new()
            {
                [$"resolve {one}"] = "NXDOMAIN",
                [$"resolve {multi}"] = h.Order(StringComparer.Ordinal).ToArray(),
                [$"connect {h[1]}"] = h[1],
                [$"connect {h[2]}"] = "dropped",
            });

            // A template keeps its source's policy; its sandboxes take it unless they give their own.
            var template = $"egress-{Guid.NewGuid():N}"[..20];
            await GraphQLAsync("mutation($id: ID!, $name: String!) { createTemplateFromSandbox(sandboxId: $id, name: $name) { id } }", new { id, name = template });
            var child = (await GraphQLAsync($$"""mutation($t: String!) { createSandbox(input: { template: $t }) { {{SandboxFields}} } }""", new { t = template }))["createSandbox"]!;
            var childId = (string)child["id"]!;
            try
            {
                AssertPolicy(child, internet: false, allow: [multi], deny: [$"{h[2]}/32"]);
                await AssertProbeAsync(childId, new() { [$"resolve {one}"] = "NXDOMAIN", [$"connect {multi}"] = "any", [$"connect {h[2]}"] = "dropped" });

                // Open, but for one name and one address.
                var denied = TestDnsServer.Name("denied");
                var opened = await GraphQLAsync($$"""
                    mutation($id: ID!, $network: NetworkPolicyInput!) { updateSandboxNetwork(id: $id, network: $network) { {{SandboxFields}} } }
                    """, new { id = childId, network = new { internet = true, deny = new[] { denied, h[1] } } });
                AssertPolicy(opened["updateSandboxNetwork"]!, internet: true, allow: [], deny: [denied, $"{h[1]}/32"]);
                await AssertProbeAsync(childId, new()
                {
                    [$"resolve {denied}"] = "NXDOMAIN",
                    [$"connect {one}"] = h[0],
                    [$"connect {h[2]}"] = h[2], // no rule names it: the internet is open
                    [$"connect {h[1]}"] = "dropped",
                });
            }
            finally
            {
                await GraphQLAsync("mutation($id: ID!) { destroySandbox(id: $id) }", new { id = childId });
                await GraphQLAsync("mutation($name: String!) { deleteTemplate(name: $name) }", new { name = template });
            }
        }
        finally
        {
            await GraphQLAsync("mutation($id: ID!) { destroySandbox(id: $id) }", new { id });
        }
    }

    [Fact]
    public async Task A_create_with_a_bad_entry_or_too_many_is_refused_naming_it_and_creates_nothing()
    {
        var before = await SandboxCountAsync();
        foreach (var (network, named) in new (object Network, string Named)[]
                 {
                     (new { allow = new[] { "pypi.org", "" } }, "empty"),
                     (new { allow = new[] { "300.1.2.3/8" } }, "300.1.2.3/8"),
                     (new { deny = new[] { "exa mple.com" } }, "exa mple.com"),
                     (new { deny = new[] { "fd00::/8" } }, "fd00::/8"),
                     (new { allow = Enumerable.Range(0, 1001).Select(i => $"h{i}.example.com").ToArray() }, "1000"),
                 })
        {
            var error = await GraphQLErrorAsync("""mutation($network: NetworkPolicyInput) { createSandbox(input: { template: "base", network: $network }) { id } }""", new { network });
            Assert.Equal("BAD_USER_INPUT", (string)error["extensions"]!["code"]!);
            Assert.Contains(named, (string)error["message"]!);
        }
        Assert.Equal(before, await SandboxCountAsync());
    }

    private static void AssertPolicy(JsonNode sandbox, bool internet, string[] allow, string[] deny)
    {
        var network = sandbox["network"]!;
        Assert.Equal(internet, (bool)network["internet"]!);
        Assert.Equal(allow, network["allow"]!.AsArray().Select(e => (string)e!).ToArray());
        Assert.Equal(deny, network["deny"]!.AsArray().Select(e => (string)e!).ToArray());
    }

    /// <summary>Runs the probe in the guest; each expected value is an address list, an answer, or "any" (an upstream host answered).</summary>
    private async Task AssertProbeAsync(string sandboxId, Dictionary<string, object> expected)
    {
        var steps = expected.Keys.Select(k => k.Split(' ', 2)).Select(p => new[] { p[0], p[1] }).ToArray();
        var run = (await GraphQLAsync("mutation($id: ID!, $args: [String!]) { exec(sandboxId: $id, command: \"python3\", args: $args) { exitCode stdout stderr } }",
            new { id = sandboxId, args = new[] { "-c", Probe, JsonSerializer.Serialize(steps) } }))["exec"]!;
        Assert.True((int)run["exitCode"]! == 0, (string)run["stderr"]!);
        var results = JsonNode.Parse((string)run["stdout"]!)!.AsObject();
        var wrong = new List<string>();
        foreach (var (step, want) in expected)
        {
            var got = results[step];
            var ok = want switch
            {
                string[] addresses => got is JsonArray list && list.Select(a => (string)a!).SequenceEqual(addresses),
                "any" => got is JsonValue v && Hosts.Contains((string)v!),
                string answer => got is JsonValue v && (string)v! == answer,
                _ => false,
            };
            if (!ok)
                wrong.Add($"{step}: expected {JsonSerializer.Serialize(want)}, got {got?.ToJsonString() ?? "nothing"}");
        }
        Assert.True(wrong.Count == 0, $"from inside {sandboxId}:\n{string.Join("\n", wrong)}\nthe test DNS server was asked: {string.Join(", ", fixture.Dns.Asked)}");
    }

    private async Task<JsonNode?> SandboxAsync(string id) =>
        (await GraphQLAsync($$"""query($id: ID!) { sandbox(id: $id) { {{SandboxFields}} } }""", new { id }))["sandbox"];

    private async Task<int> SandboxCountAsync() =>
        (await GraphQLAsync("{ sandboxes(first: 500) { nodes { id } } }"))["sandboxes"]!["nodes"]!.AsArray().Count;

    private async Task<JsonNode> GraphQLAsync(string query, object? variables = null)
    {
        var body = await PostAsync(query, variables);
        Assert.True(body["errors"] is null, body.ToJsonString());
        return body["data"]!;
    }

    private async Task<JsonNode> GraphQLErrorAsync(string query, object? variables = null)
    {
        var body = await PostAsync(query, variables);
        return body["errors"]?[0] ?? throw new Xunit.Sdk.XunitException($"expected an error, got {body.ToJsonString()}");
    }

    private async Task<JsonObject> PostAsync(string query, object? variables)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Silo.Host.ApiAddress, "/graphql"))
        {
            Content = new StringContent(new JsonObject { ["query"] = query, ["variables"] = JsonSerializer.SerializeToNode(variables) }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.AdminKey);
        using var response = await http.SendAsync(request);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }
}
