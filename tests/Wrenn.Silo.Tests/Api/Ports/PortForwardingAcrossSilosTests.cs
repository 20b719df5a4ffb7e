using System.Net;
using System.Text.Json.Nodes;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Tests.Cluster;
using Wrenn.Silo.Tests.Sandboxes;
using Wrenn.Testing;

namespace Wrenn.Silo.Tests.Api.Ports;

/// <summary>
/// A second silo, a <c>wrenn run</c> process on the API silo's database (so one cluster), hosts a
/// sandbox; the API silo receives every request and forwards it to the host silo's API, which reaches
/// the guest.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class PortForwardingAcrossSilosTests(ApiFixture api)
{
    [Fact]
    public async Task A_sandbox_on_another_silo_is_reached_through_this_one_with_a_key_a_port_URL_and_a_WebSocket()
    {
        var owner = TestPrefix.NewOwner();
        var dataDir = $"/run/wrenn/{owner}-data";
        Directory.CreateDirectory(dataDir);
        var settings = new JsonObject { ["Wrenn"] = new JsonObject { ["Proxy"] = new JsonObject { ["Domain"] = ApiFixture.ProxyDomain }, ["Cluster"] = new JsonObject() } };
        foreach (var (key, value) in TestSiloSettings.Defaults.Where(s => s.Key.StartsWith("Wrenn:Cluster:", StringComparison.Ordinal)))
            settings["Wrenn"]!["Cluster"]![key["Wrenn:Cluster:".Length..]] = value;
        await File.WriteAllTextAsync(Path.Combine(dataDir, "appsettings.json"), settings.ToJsonString());
        WrennProcess? other = null;
        string? sandboxId = null;
        try
        {
            other = await WrennProcess.StartAsync(dataDir, api.Silo.ConnectionString, owner, $"{owner}-silo", "--warm-base", "false");
            using var viaOther = new GraphQLClient(other.Api, api.AdminKey);
            JsonNode created;
            using (await MachineGate.EnterAsync())
                created = (await viaOther.DataAsync("mutation { createSandbox(input: {template: \"base\", timeoutSeconds: 900}) { id host { name } } }"))["createSandbox"]!;
            Assert.Equal($"{owner}-silo", created["host"]?["name"]?.GetValue<string>());
            sandboxId = created["id"]!.GetValue<string>();
            await PortServerSandbox.StartServersAsync(api.Silo.Host.Grains.GetGrain<ISandboxGrain>(sandboxId), api.Silo.Admin);
            using var client = new PortClient();

            // With the key, through this silo: the host silo reached the guest, then this one answered.
            var echo = await client.EchoAsync(HttpMethod.Put, PortClient.PortPath(api.BaseAddress, sandboxId, PortServerSandbox.HttpPort, "a/b?q=1"), api.AdminKey, new StringContent("across"));
            Assert.Equal(("PUT", "/a/b?q=1"), (echo["method"]!.GetValue<string>(), echo["path"]!.GetValue<string>()));
            Assert.Equal(api.BaseAddress.Authority, PortClient.Header(echo, "Host"));
            Assert.Null(PortClient.Header(echo, "Authorization"));
            Assert.DoesNotContain("/p/", echo["path"]!.GetValue<string>());
            using (var hello = await client.GetAsync(PortClient.PortPath(api.BaseAddress, sandboxId, PortServerSandbox.HttpPort, "hello"), api.AdminKey))
            {
                Assert.Equal("hello from the guest\n", await hello.Content.ReadAsStringAsync());
                Assert.Equal([$"1.1 {owner}-silo", $"1.1 {api.Silo.Host.SiloName}"], hello.Headers.Via.Select(v => v.ToString()));
            }
            using (var redirect = await client.GetAsync(PortClient.PortPath(api.BaseAddress, sandboxId, PortServerSandbox.HttpPort, "redirect"), api.AdminKey))
                Assert.Equal($"/sandboxes/{sandboxId}/ports/{PortServerSandbox.HttpPort}/hello", redirect.Headers.Location!.OriginalString);
            using (var nothing = await client.GetAsync(PortClient.PortPath(api.BaseAddress, sandboxId, 8002), api.AdminKey))
            {
                Assert.Equal(HttpStatusCode.BadGateway, nothing.StatusCode);
                Assert.Contains($"Nothing is listening on port 8002 in sandbox {sandboxId}", await nothing.Content.ReadAsStringAsync());
            }

            // A port URL made on this silo, and a host name, reach it too.
            var (_, made) = await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { createPortUrl(sandboxId: $id, port: 8000) { url } }", new { id = sandboxId });
            var url = made["data"]!["createPortUrl"]!["url"]!.GetValue<string>();
            using (var byUrl = await client.GetAsync(new Uri(url + "hello")))
                Assert.Equal("hello from the guest\n", await byUrl.Content.ReadAsStringAsync());
            var byHost = await client.EchoAsync(HttpMethod.Get, new Uri(api.BaseAddress, "/at-the-root"), api.AdminKey, host: $"8000-{sandboxId}.{ApiFixture.ProxyDomain}");
            Assert.Equal("/at-the-root", byHost["path"]!.GetValue<string>());

            // WebSockets both ways.
            await PortClient.EchoOverWebSocketAsync(new UriBuilder(PortClient.PortPath(api.BaseAddress, sandboxId, PortServerSandbox.WebSocketPort)) { Scheme = "ws" }.Uri, api.AdminKey);
            var (_, wsMade) = await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { createPortUrl(sandboxId: $id, port: 8765) { url } }", new { id = sandboxId });
            await PortClient.EchoOverWebSocketAsync(new UriBuilder(wsMade["data"]!["createPortUrl"]!["url"]!.GetValue<string>()) { Scheme = "ws" }.Uri, key: null);

            // The port URL dies with its sandbox.
            await viaOther.DataAsync("mutation ($id: ID!) { destroySandbox(id: $id) }", new { id = sandboxId });
            sandboxId = null;
            using var gone = await client.GetAsync(new Uri(url + "hello"));
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
            Assert.Contains("destroyed", await gone.Content.ReadAsStringAsync());
        }
        catch (Exception e) when (other is not null)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\n\nThe other silo's output:\n{other.Output()}", e);
        }
        finally
        {
            if (sandboxId is not null)
            {
                try
                {
                    await api.Silo.Host.Grains.GetGrain<ISandboxGrain>(sandboxId).DestroyAsync(api.Silo.Admin);
                }
                catch (Exception)
                {
                    // The sweep below removes what is left.
                }
            }
            if (other is not null)
                await other.DisposeAsync();
            await MultiProcessClusterTests.RemoveEverythingOfAsync(owner);
        }
    }
}
