using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Wrenn.Silo.Tests.Api;

/// <summary>Webhooks end to end: a team's receivers on loopback hear its sandboxes' events, signed, in order, retried.</summary>
[Collection(ApiCollection.Name)]
public sealed class WebhookTests(ApiFixture api)
{
    private const string Secret = "a-test-secret-of-32-characters!!";

    private static string? Code(JsonObject body) => body["errors"]?[0]?["extensions"]?["code"]?.GetValue<string>();

    /// <summary>A team of its own, so that no other test's sandbox events reach these receivers.</summary>
    private async Task<string> NewTeamKeyAsync()
    {
        var (_, team) = await api.GraphQLAsync(api.AdminKey, $"mutation {{ createTeam(name: \"hooks-{Guid.NewGuid():N}\") {{ id }} }}");
        var (_, key) = await api.GraphQLAsync(api.AdminKey, "mutation ($t: String!) { createApiKey(team: $t) { key } }", new { t = team["data"]!["createTeam"]!["id"]!.GetValue<string>() });
        return key["data"]!["createApiKey"]!["key"]!.GetValue<string>();
    }

    [Fact]
    public async Task Receivers_get_each_event_of_a_sandbox_signed_and_in_order_and_a_failing_one_gets_it_retried_under_the_same_delivery_id()
    {
        var key = await NewTeamKeyAsync();
        await using var receiver = new WebhookReceiver();
        const string create = "mutation ($url: String!, $events: [SandboxEventKind!]!, $secret: String!) { createWebhook(url: $url, events: $events, secret: $secret) { id url events } }";
        var (_, ok) = await api.GraphQLAsync(key, create, new { url = receiver.Url("ok"), events = new[] { "CREATED", "RUNNING", "PAUSED", "RESUMED", "DESTROYED", "TIMED_OUT", "FAILED", "LOST" }, secret = Secret });
        Assert.Null(ok["errors"]);
        var (_, flaky) = await api.GraphQLAsync(key, create, new { url = receiver.Url("flaky"), events = new[] { "CREATED", "PAUSED", "TIMED_OUT" }, secret = Secret });
        var flakyId = flaky["data"]!["createWebhook"]!["id"]!.GetValue<string>();
        var (_, listed) = await api.GraphQLAsync(key, "{ webhooks { id url events } }");
        Assert.Equal(2, listed["data"]!["webhooks"]!.AsArray().Count);
        Assert.Equal("""["CREATED","PAUSED","TIMED_OUT"]""", flaky["data"]!["createWebhook"]!["events"]!.ToJsonString());

        var (_, created) = await api.GraphQLAsync(key, "mutation { createSandbox(input: {template: \"base\", timeoutSeconds: 600}) { id } }");
        Assert.Null(created["errors"]);
        var id = created["data"]!["createSandbox"]!["id"]!.GetValue<string>();
        await api.GraphQLAsync(key, "mutation ($id: ID!) { pauseSandbox(id: $id) { state } }", new { id });
        await api.GraphQLAsync(key, "mutation ($id: ID!) { resumeSandbox(id: $id) { state } }", new { id });
        // Its timeout ends it: TIMED_OUT rather than DESTROYED.
        await api.GraphQLAsync(key, "mutation ($id: ID!) { setSandboxTimeout(id: $id, seconds: 1) { state } }", new { id });

        List<ReceivedWebhook> Of(string path) => receiver.Received.Where(r => r.Path == path && r.Body.Contains(id)).ToList();
        for (var i = 0; i < 120 && (Of("ok").Count < 5 || Of("flaky").Count(r => r.AnsweredWith == 200) < 3); i++)
            await Task.Delay(500);

        var toOk = Of("ok");
        Assert.Equal(["CREATED", "RUNNING", "PAUSED", "RESUMED", "TIMED_OUT"], toOk.Select(r => Event(r)).ToArray());
        var toFlaky = Of("flaky");
        // The first event failed twice and was tried again under its id; the later ones waited behind it.
        Assert.Equal(["CREATED", "CREATED", "CREATED", "PAUSED", "TIMED_OUT"], toFlaky.Select(r => Event(r)).ToArray());
        Assert.Equal([500, 500, 200, 200, 200], toFlaky.Select(r => r.AnsweredWith).ToArray());
        Assert.Single(toFlaky.Take(3).Select(r => r.Delivery).Distinct());

        foreach (var delivery in toOk.Concat(toFlaky))
        {
            var body = JsonNode.Parse(delivery.Body)!;
            Assert.Equal(delivery.Delivery, body["id"]!.GetValue<string>());
            Assert.Equal(id, body["sandbox"]!["id"]!.GetValue<string>());
            // t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">
            var parts = delivery.Signature!.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
            var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes($"{parts["t"]}.{delivery.Body}")));
            Assert.Equal(expected, parts["v1"]);
            Assert.InRange(long.Parse(parts["t"]), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        }
        Assert.Equal("PAUSED", JsonNode.Parse(toOk[2].Body)!["sandbox"]!["state"]!.GetValue<string>());

        var (_, deliveries) = await api.GraphQLAsync(key, "query ($w: ID!) { webhookDeliveries(webhookId: $w) { id event status attempts lastStatusCode sandboxId } }", new { w = flakyId });
        var rows = deliveries["data"]!["webhookDeliveries"]!.AsArray();
        Assert.Equal(["TIMED_OUT", "PAUSED", "CREATED"], rows.Select(r => r!["event"]!.GetValue<string>()).ToArray());
        Assert.All(rows, r => Assert.Equal("DELIVERED", r!["status"]!.GetValue<string>()));
        Assert.Equal([1, 1, 3], rows.Select(r => r!["attempts"]!.GetValue<int>()).ToArray());
        Assert.Equal(toFlaky[0].Delivery, rows[2]!["id"]!.GetValue<string>());

        var (_, deleted) = await api.GraphQLAsync(key, "mutation ($w: ID!) { deleteWebhook(id: $w) }", new { w = flakyId });
        Assert.True(deleted["data"]!["deleteWebhook"]!.GetValue<bool>());
        var (_, again) = await api.GraphQLAsync(key, "mutation ($w: ID!) { deleteWebhook(id: $w) }", new { w = flakyId });
        Assert.False(again["data"]!["deleteWebhook"]!.GetValue<bool>());
        var (_, theirs) = await api.GraphQLAsync(api.AdminKey, "{ webhooks { id } webhookDeliveries { id } }");
        Assert.DoesNotContain(flakyId, theirs.ToJsonString());
    }

    private static string Event(ReceivedWebhook received) => JsonNode.Parse(received.Body)!["event"]!.GetValue<string>();

    [Fact]
    public async Task A_webhook_with_a_url_that_is_not_http_an_unknown_event_or_a_short_secret_is_bad_user_input()
    {
        const string create = "mutation ($url: String!, $events: [SandboxEventKind!]!, $secret: String!) { createWebhook(url: $url, events: $events, secret: $secret) { id } }";
        foreach (var (url, events, secret) in new[]
        {
            ("ftp://example.test/hook", new[] { "CREATED" }, Secret),
            ("not a url", new[] { "CREATED" }, Secret),
            ("http://127.0.0.1:9/hook", new[] { "CREATED", "EXPLODED" }, Secret),
            ("http://127.0.0.1:9/hook", new[] { "CREATED" }, "fifteen-bytes!!"),
            ("http://127.0.0.1:9/hook", Array.Empty<string>(), Secret),
        })
        {
            var (_, body) = await api.GraphQLAsync(api.AdminKey, create, new { url, events, secret });
            Assert.True(Code(body) == "BAD_USER_INPUT", $"{url} {string.Join(",", events)} {secret}: {body.ToJsonString()}");
        }
        var (_, none) = await api.GraphQLAsync(api.AdminKey, "{ webhooks { url } }");
        Assert.DoesNotContain("127.0.0.1:9", none.ToJsonString());
    }
}
