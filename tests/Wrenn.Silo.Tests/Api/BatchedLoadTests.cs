using Wrenn.Grains.Sandboxes;

namespace Wrenn.Silo.Tests.Api;

/// <summary>A page of sandboxes with their templates and hosts costs a fixed number of backend calls, whatever its size.</summary>
[Collection(ApiCollection.Name)]
public sealed class BatchedLoadTests(ApiFixture api)
{
    [Fact]
    public async Task A_page_of_50_sandboxes_with_template_and_host_makes_at_most_3_backend_calls()
    {
        var team = await ApiTeam.CreateAsync(api);
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        for (var i = 0; i < 50; i++)
            await team.InsertSandboxAsync(SandboxState.Destroyed, start.AddSeconds(i), host: api.Silo.Host.SiloName);

        foreach (var size in new[] { 5, 50 })
        {
            api.Backend.Reset();
            var (_, page) = await api.GraphQLAsync(team.Key, "query ($n: Int!) { sandboxes(first: $n) { nodes { id template { name } host { name live } } } }", new { n = size });
            Assert.Null(page["errors"]);
            var nodes = page["data"]!["sandboxes"]!["nodes"]!.AsArray();
            Assert.Equal(size, nodes.Count);
            Assert.All(nodes, n => Assert.Equal(("base", api.Silo.Host.SiloName), (n!["template"]!["name"]!.GetValue<string>(), n["host"]!["name"]!.GetValue<string>())));
            Assert.Equal(new Dictionary<string, int> { ["ListSandboxesAsync"] = 1, ["TemplatesByIdAsync"] = 1, ["HostsByNameAsync"] = 1 },
                api.Backend.Calls.OrderBy(c => c.Key).ToDictionary());
        }
    }
}
