using System.Text.Json.Nodes;

namespace Wrenn.Silo.Tests.Api;

/// <summary>
/// One graphql-transport-ws subscription on a connection of its own, read event by event. A wait that
/// runs out fails with what came so far and the sandbox's VM console.
/// </summary>
public sealed class ApiSubscription : IAsyncDisposable
{
    private const string Id = "1";
    private readonly GraphQLWsClient _client;
    private readonly ApiFixture _api;
    private readonly string _sandboxId;
    private readonly string _field;
    private readonly List<string> _seen = [];

    private ApiSubscription(GraphQLWsClient client, ApiFixture api, string sandboxId, string field)
    {
        _client = client;
        _api = api;
        _sandboxId = sandboxId;
        _field = field;
    }

    /// <summary>Subscribes to <paramref name="query"/>, whose one root field is <paramref name="field"/>.</summary>
    public static async Task<ApiSubscription> StartAsync(ApiFixture api, string sandboxId, string field, string query, object variables)
    {
        var client = await GraphQLWsClient.ConnectAsync(api.BaseAddress, api.AdminKey);
        await client.SubscribeAsync(Id, query, variables);
        return new ApiSubscription(client, api, sandboxId, field);
    }

    /// <summary>True once the server said complete (or the socket closed).</summary>
    public bool Completed { get; private set; }

    /// <summary>The next event; null once the subscription completed. Any other message (an error) fails the test.</summary>
    public async Task<JsonObject?> NextAsync(TimeSpan? wait = null)
    {
        if (Completed)
            return null;
        var message = await _client.ReceiveAsync(wait ?? TimeSpan.FromSeconds(60)) ?? throw Fail("no message came");
        _seen.Add(message.ToJsonString());
        switch (message["type"]?.GetValue<string>())
        {
            case "next" when (message["payload"]?["data"]?[_field]) is JsonObject e:
                return e;
            case "complete":
                Completed = true;
                return null;
            default:
                throw Fail($"an unexpected message came: {message.ToJsonString()}");
        }
    }

    /// <summary>The error the subscription ended with: its extensions.code and message.</summary>
    public async Task<(string? Code, string Message)> ErrorAsync()
    {
        var message = await _client.ReceiveAsync(TimeSpan.FromSeconds(60)) ?? throw Fail("no error came");
        _seen.Add(message.ToJsonString());
        var error = message["type"]?.GetValue<string>() switch
        {
            "error" => message["payload"]?[0],
            "next" => message["payload"]?["errors"]?[0],
            _ => null,
        } ?? throw Fail($"expected an error, got {message.ToJsonString()}");
        return (error["extensions"]?["code"]?.GetValue<string>(), error["message"]?.GetValue<string>() ?? "");
    }

    /// <summary>Events until one satisfies <paramref name="done"/> (returned with all before it); fails if the stream ends or the wait runs out first.</summary>
    public async Task<List<JsonObject>> UntilAsync(Func<JsonObject, bool> done, TimeSpan? wait = null)
    {
        var events = new List<JsonObject>();
        var deadline = DateTime.UtcNow + (wait ?? TimeSpan.FromSeconds(90));
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw Fail("the awaited event did not come in time");
            var next = await NextAsync(left) ?? throw Fail("the subscription completed first");
            events.Add(next);
            if (done(next))
                return events;
        }
    }

    /// <summary>Reads until the server completes the subscription; returns what came before.</summary>
    public async Task<List<JsonObject>> UntilCompleteAsync(TimeSpan? wait = null)
    {
        var events = new List<JsonObject>();
        while (await NextAsync(wait) is { } next)
            events.Add(next);
        return events;
    }

    /// <summary>Stops the subscription from the client's side (graphql-transport-ws complete).</summary>
    public Task CompleteAsync() => _client.CompleteAsync(Id);

    public Xunit.Sdk.XunitException Fail(string what) =>
        new($"{_field} on {_sandboxId}: {what}.\nMessages so far:\n{string.Join("\n", _seen.TakeLast(20))}\nVM console:\n{_api.ConsoleTail(_sandboxId)}");

    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
