using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Wrenn.Silo.Tests.Api;

namespace Wrenn.Silo.Tests.Keys;

/// <summary>API keys that expire, and a team's list of its keys: never their secrets, and when each was last used (written at most once a minute).</summary>
[Collection(ApiCollection.Name)]
public sealed class ApiKeyTests(ApiFixture api)
{
    [Fact]
    public async Task A_key_with_an_expiry_works_until_then_and_is_UNAUTHENTICATED_after()
    {
        var team = await ApiTeam.CreateAsync(api);
        var expiry = DateTimeOffset.UtcNow.AddSeconds(4);
        var created = await AdminAsync("mutation ($t: String!, $e: DateTime) { createApiKey(team: $t, expiresAt: $e) { id key expiresAt } }",
            new { t = team.Caller.TeamId, e = Iso(expiry) });
        var key = created["createApiKey"]!["key"]!.GetValue<string>();
        Assert.Equal(Iso(expiry), created["createApiKey"]!["expiresAt"]!.GetValue<string>());

        var (before, _) = await api.GraphQLAsync(key, "{ me { id } }");
        Assert.Equal(HttpStatusCode.OK, before);
        var (_, listed) = await api.GraphQLAsync(team.Key, "{ me { apiKeys { id expiresAt } } }");
        Assert.Contains(listed["data"]!["me"]!["apiKeys"]!.AsArray(), k => k!["expiresAt"]?.GetValue<string>() == Iso(expiry));

        while (DateTimeOffset.UtcNow < expiry.AddSeconds(1))
            await Task.Delay(250);
        var (after, refused) = await api.GraphQLAsync(key, "{ me { id } }");
        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHENTICATED"), (after, refused["errors"]?[0]?["extensions"]?["code"]?.GetValue<string>()));
    }

    [Fact]
    public async Task An_expiry_in_the_past_is_BAD_USER_INPUT_and_makes_no_key()
    {
        var team = await ApiTeam.CreateAsync(api);
        var (_, refused) = await api.GraphQLAsync(api.AdminKey, "mutation ($t: String!, $e: DateTime) { createApiKey(team: $t, expiresAt: $e) { key } }",
            new { t = team.Caller.TeamId, e = Iso(DateTimeOffset.UtcNow.AddMinutes(-1)) });
        Assert.Equal("BAD_USER_INPUT", refused["errors"]?[0]?["extensions"]?["code"]?.GetValue<string>());
        Assert.Contains("in the past", refused["errors"]![0]!["message"]!.GetValue<string>());
        var (_, listed) = await api.GraphQLAsync(team.Key, "{ me { apiKeys { id } } }");
        Assert.Single(listed["data"]!["me"]!["apiKeys"]!.AsArray());
    }

    [Fact]
    public async Task A_teams_keys_show_when_each_was_last_used_written_once_a_minute_and_never_their_secrets()
    {
        var team = await ApiTeam.CreateAsync(api);
        var created = await AdminAsync("mutation ($t: String!) { createApiKey(team: $t) { id key } }", new { t = team.Caller.TeamId });
        var (id, key) = (created["createApiKey"]!["id"]!.GetValue<string>(), created["createApiKey"]!["key"]!.GetValue<string>());
        Assert.Null(await LastUsedAsync(team, id));

        await api.GraphQLAsync(key, "{ me { id } }");
        var first = await LastUsedAsync(team, id);
        Assert.NotNull(first);
        Assert.InRange(DateTimeOffset.Parse(first, CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));

        // Used again and again within the minute: the stored time is not written again.
        for (var i = 0; i < 5; i++)
            await api.GraphQLAsync(key, "{ me { id } }");
        Assert.Equal(first, await LastUsedAsync(team, id));

        var (_, listed) = await api.GraphQLAsync(team.Key, "{ me { apiKeys { id admin hint createdAt expiresAt lastUsedAt revokedAt } } }");
        var text = listed.ToJsonString();
        Assert.DoesNotContain(key, text);
        Assert.DoesNotContain(team.Key, text);
        Assert.Contains(listed["data"]!["me"]!["apiKeys"]!.AsArray(), k => k!["id"]!.GetValue<string>() == id && k["hint"]!.GetValue<string>().StartsWith(key[..8], StringComparison.Ordinal));
    }

    private async Task<string?> LastUsedAsync(ApiTeam team, string keyId)
    {
        var (_, listed) = await api.GraphQLAsync(team.Key, "{ me { apiKeys { id lastUsedAt } } }");
        return listed["data"]!["me"]!["apiKeys"]!.AsArray().Single(k => k!["id"]!.GetValue<string>() == keyId)!["lastUsedAt"]?.GetValue<string>();
    }

    private async Task<JsonNode> AdminAsync(string query, object variables)
    {
        var (_, body) = await api.GraphQLAsync(api.AdminKey, query, variables);
        Assert.True(body["errors"] is null, body.ToJsonString());
        return body["data"]!;
    }

    private static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
