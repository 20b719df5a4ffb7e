using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Wrenn.Silo.Tests.Cluster;

/// <summary>Wrenn's GraphQL API over HTTP, as a user's client calls it, with one API key.</summary>
public sealed class GraphQLClient(Uri api, string key) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = api, Timeout = TimeSpan.FromMinutes(5) };

    /// <summary>The response body; its <c>errors</c> are the caller's to look at.</summary>
    public async Task<JsonObject> SendAsync(string query, object? variables = null, CancellationToken cancellationToken = default)
    {
        var body = new JsonObject { ["query"] = query };
        if (variables is not null)
            body["variables"] = JsonSerializer.SerializeToNode(variables);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/graphql") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await _http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return JsonNode.Parse(text) as JsonObject ?? throw new InvalidOperationException($"not a JSON object: {text}");
    }

    /// <summary>The data, or a failure quoting the errors.</summary>
    public async Task<JsonNode> DataAsync(string query, object? variables = null)
    {
        var result = await SendAsync(query, variables);
        Assert.True(result["errors"] is null, $"GraphQL errors: {result["errors"]?.ToJsonString()}");
        return result["data"]!;
    }

    /// <summary>The first error's code, or null when the request succeeded.</summary>
    public static string? ErrorCode(JsonObject result) => result["errors"]?[0]?["extensions"]?["code"]?.GetValue<string>();

    public void Dispose() => _http.Dispose();
}
