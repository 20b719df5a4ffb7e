using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Tests.Cluster;
using Wrenn.Silo.Tests.Sandboxes;
using Wrenn.Testing;

namespace Wrenn.Silo.Tests.Api.Lifecycle;

/// <summary>
/// A paused sandbox hosted by another silo (a <c>wrenn run</c> process on the API silo's database) is
/// woken on its own host by calls that come through this silo: an exec, and a forwarded request.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class WakeAcrossSilosTests(ApiFixture api)
{
    [Fact]
    public async Task A_paused_sandbox_on_another_silo_is_woken_there_by_an_exec_and_a_forwarded_request_through_this_one()
    {
        var owner = TestPrefix.NewOwner();
        var dataDir = $"/run/wrenn/{owner}-data";
        Directory.CreateDirectory(dataDir);
        var settings = new JsonObject { ["Wrenn"] = new JsonObject { ["Cluster"] = new JsonObject() } };
        foreach (var (key, value) in TestSiloSettings.Defaults.Where(s => s.Key.StartsWith("Wrenn:Cluster:", StringComparison.Ordinal)))
            settings["Wrenn"]!["Cluster"]![key["Wrenn:Cluster:".Length..]] = value;
        await File.WriteAllTextAsync(Path.Combine(dataDir, "appsettings.json"), settings.ToJsonString());
        WrennProcess? other = null;
        string? id = null;
        var sandboxes = new LifecycleApi(api);
        try
        {
            other = await WrennProcess.StartAsync(dataDir, api.Silo.ConnectionString, owner, $"{owner}-silo", "--warm-base", "false");
            using var viaOther = new GraphQLClient(other.Api, api.AdminKey);
            JsonNode created;
            using (await MachineGate.EnterAsync())
                created = (await viaOther.DataAsync("mutation { createSandbox(input: {template: \"base\", timeoutSeconds: 900, autoResume: true}) { id host { name } } }"))["createSandbox"]!;
            id = created["id"]!.GetValue<string>();
            var host = $"{owner}-silo";
            Assert.Equal(host, created["host"]?["name"]?.GetValue<string>());
            await api.DataAsync("mutation ($id: ID!) { startProcess(sandboxId: $id, command: \"python3\", args: [\"-m\", \"http.server\", \"8000\", \"--directory\", \"/etc\"]) { pid } }", new { id });
            await LifecycleApi.UntilListeningAsync(api, id, 8000);

            // Paused, then an exec through this silo: woken on its own host.
            await api.DataAsync("mutation ($id: ID!) { pauseSandbox(id: $id) { state } }", new { id });
            Assert.Equal("woken\n", (await sandboxes.ExecAsync(id, "echo", "woken"))["stdout"]!.GetValue<string>());
            var woken = (await api.DataAsync("query ($id: ID!) { sandbox(id: $id) { state host { name } } }", new { id }))["sandbox"]!;
            Assert.Equal($$$"""{"state":"RUNNING","host":{"name":"{{{host}}}"}}""", woken.ToJsonString());

            // Paused again, then a forwarded request through this silo: the route's call wakes it there, the host silo reaches the guest.
            await api.DataAsync("mutation ($id: ID!) { pauseSandbox(id: $id) { state } }", new { id });
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(api.BaseAddress, $"/sandboxes/{id}/ports/8000/hostname"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", api.AdminKey);
            using var response = await api.Http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {body}");
            Assert.Equal((await sandboxes.ExecAsync(id, "cat", "/etc/hostname"))["stdout"]!.GetValue<string>(), body);
            Assert.Equal(2, await sandboxes.AuditedAsync(id, "sandbox.wake"));
            Assert.Equal(host, (await api.Silo.Host.Grains.GetGrain<ISandboxGrain>(id).GetAsync(api.Silo.Admin)).Host);
        }
        catch (Exception e) when (other is not null)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\n\nThe other silo's output:\n{other.Output()}", e);
        }
        finally
        {
            if (id is not null)
            {
                try
                {
                    await api.Silo.Host.Grains.GetGrain<ISandboxGrain>(id).DestroyAsync(api.Silo.Admin);
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
