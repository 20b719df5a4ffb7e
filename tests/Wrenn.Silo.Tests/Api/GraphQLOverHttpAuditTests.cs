using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Wrenn.Silo.Tests.Api;

/// <summary>
/// graphql-http's audit (npm: the reference implementation of the GraphQL-over-HTTP specification)
/// run against the API: every MUST of the specification holds, and what it only recommends is
/// reported when it does not.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class GraphQLOverHttpAuditTests(ApiFixture api, ITestOutputHelper output)
{
    [Fact]
    public async Task The_API_passes_every_MUST_of_the_GraphQL_over_HTTP_audit()
    {
        var report = await ApiFixture.NodeAsync("graphql-http-audit.mjs", new Uri(api.BaseAddress, "/graphql").ToString(), api.AdminKey);
        var results = report["results"]!.AsArray().Select(r => r!.AsObject()).ToList();

        Assert.True(results.Count > 20, $"the audit ran only {results.Count} checks");
        foreach (var warning in results.Where(r => (string?)r["status"] == "warn"))
            output.WriteLine($"recommended, not followed: {warning["name"]} ({warning["reason"]})");
        var failed = results.Where(r => (string?)r["status"] == "error").Select(Describe).ToList();
        Assert.True(failed.Count == 0, "requirements of the specification not met:\n" + string.Join("\n", failed));
    }

    private static string Describe(JsonObject result) => $"{result["id"]} {result["name"]}: {result["reason"]}";
}
