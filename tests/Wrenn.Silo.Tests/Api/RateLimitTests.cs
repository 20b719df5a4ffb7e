using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Tests.Sandboxes;

namespace Wrenn.Silo.Tests.Api;

/// <summary>A silo with low rate limits (5 requests and 1 create per second per key) and no VM.</summary>
public sealed class RateLimitedSilo : IAsyncLifetime
{
    public const int RequestsPerSecond = 5;

    public SiloFixture Silo { get; } = new()
    {
        Configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Wrenn:RateLimits:RequestsPerSecond"] = RequestsPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Wrenn:RateLimits:CreatesPerSecond"] = "1",
        }).Build(),
    };

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromMinutes(2) };

    public Task InitializeAsync() => Silo.InitializeAsync();

    public async Task<string> MemberKeyAsync()
    {
        var team = await Silo.Host.Teams.CreateTeamAsync($"rl-{Guid.NewGuid():N}"[..20], CancellationToken.None);
        return (await Silo.Host.Teams.CreateKeyAsync(team.Id, Role.Member, CancellationToken.None)).Secret;
    }

    public async Task<(HttpStatusCode Status, string? RetryAfter, JsonObject Body)> PostAsync(string key, string query)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Silo.Host.ApiAddress, "/graphql"))
        {
            Content = new StringContent(new JsonObject { ["query"] = query }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await Http.SendAsync(request);
        var retryAfter = response.Headers.RetryAfter?.Delta is { } delta ? ((int)delta.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        return (response.StatusCode, retryAfter, (JsonNode.Parse(await response.Content.ReadAsStringAsync()) as JsonObject)!);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Silo.DisposeAsync();
    }
}

/// <summary>Rate limits per API key with ASP.NET Core's rate limiter: 429 with Retry-After over HTTP, RATE_LIMITED over WebSocket; admin keys unlimited.</summary>
public sealed class RateLimitTests(RateLimitedSilo silo) : IClassFixture<RateLimitedSilo>
{
    [Fact]
    public async Task Past_its_requests_per_second_a_key_gets_429_with_Retry_After_and_RATE_LIMITED_and_later_gets_through()
    {
        var key = await silo.MemberKeyAsync();
        var answers = await Task.WhenAll(Enumerable.Range(0, 6 * RateLimitedSilo.RequestsPerSecond).Select(_ => silo.PostAsync(key, "{ me { id } }")));

        Assert.Contains(answers, a => a.Status == HttpStatusCode.OK);
        var limited = answers.FirstOrDefault(a => a.Status == HttpStatusCode.TooManyRequests);
        Assert.True(limited.Body is not null, $"no request of {answers.Length} at once was refused: {string.Join(", ", answers.Select(a => a.Status))}");
        Assert.True(int.Parse(limited.RetryAfter!, System.Globalization.CultureInfo.InvariantCulture) >= 1, $"Retry-After: {limited.RetryAfter}");
        Assert.Equal("RATE_LIMITED", limited.Body["errors"]![0]!["extensions"]!["code"]!.GetValue<string>());
        Assert.Contains("5 requests per second", limited.Body["errors"]![0]!["message"]!.GetValue<string>());

        // Another key of the same silo is not held back, and this one gets through once it waited.
        Assert.Equal(HttpStatusCode.OK, (await silo.PostAsync(await silo.MemberKeyAsync(), "{ me { id } }")).Status);
        await Task.Delay(TimeSpan.FromSeconds(int.Parse(limited.RetryAfter!, System.Globalization.CultureInfo.InvariantCulture) + 1));
        Assert.Equal(HttpStatusCode.OK, (await silo.PostAsync(key, "{ me { id } }")).Status);
    }

    [Fact]
    public async Task Creates_past_the_creates_per_second_are_429_before_anything_runs()
    {
        var key = await silo.MemberKeyAsync();
        // Two creates in one request ask more than a key may create per second.
        var (status, retryAfter, body) = await silo.PostAsync(key,
            "mutation { a: createSandbox(input: {template: \"no-such-template\"}) { id } b: createSandbox(input: {template: \"no-such-template\"}) { id } }");
        Assert.Equal((HttpStatusCode.TooManyRequests, "RATE_LIMITED"), (status, body["errors"]![0]!["extensions"]!["code"]!.GetValue<string>()));
        Assert.NotNull(retryAfter);

        // One at a time, several at once: the first runs (and finds no such template), the rest wait their turn.
        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => silo.PostAsync(key, "mutation { createSandbox(input: {template: \"no-such-template\"}) { id } }")));
        Assert.Contains(answers, a => a.Status == HttpStatusCode.OK && a.Body["errors"]![0]!["extensions"]!["code"]!.GetValue<string>() == "NOT_FOUND");
        Assert.Contains(answers, a => a.Status == HttpStatusCode.TooManyRequests && a.Body["errors"]![0]!["message"]!.GetValue<string>().Contains("1 sandbox per second", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Admin_keys_are_not_limited()
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, 6 * RateLimitedSilo.RequestsPerSecond).Select(_ => silo.PostAsync(silo.Silo.Host.FirstAdminKey!, "{ me { id } }")));
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
    }

    [Fact]
    public async Task Over_WebSocket_an_operation_past_the_limit_ends_with_RATE_LIMITED()
    {
        var key = await silo.MemberKeyAsync();
        await using var ws = await GraphQLWsClient.ConnectAsync(silo.Silo.Host.ApiAddress, key);
        var count = 6 * RateLimitedSilo.RequestsPerSecond;
        for (var i = 0; i < count; i++)
            await ws.SubscribeAsync($"op{i}", "{ me { id } }");
        var ended = new Dictionary<string, JsonObject>();
        while (ended.Count < count && await ws.ReceiveAsync(TimeSpan.FromSeconds(30)) is { } message)
        {
            if (message["type"]?.GetValue<string>() is "complete" or "error")
                ended[message["id"]!.GetValue<string>()] = message;
        }
        Assert.Equal(count, ended.Count);
        var limited = ended.Values.Where(m => m["type"]!.GetValue<string>() == "error").ToList();
        Assert.NotEmpty(limited);
        Assert.All(limited, m => Assert.Equal("RATE_LIMITED", m["payload"]![0]!["extensions"]!["code"]!.GetValue<string>()));
        Assert.True(limited[0]["payload"]![0]!["extensions"]!["retryAfterSeconds"]!.GetValue<int>() >= 1);
        Assert.Contains(ended.Values, m => m["type"]!.GetValue<string>() == "complete");
    }
}
