using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Wrenn.Silo.Tests.Api.Ports;

/// <summary>A user's HTTP client for forwarded ports: it follows no redirects (the tests read them) and keeps no cookies.</summary>
public sealed class PortClient : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromMinutes(5) };

    public static Uri PortPath(Uri api, string sandboxId, int port, string rest = "") => new(api, $"/sandboxes/{sandboxId}/ports/{port}/{rest}");

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, string? key = null, HttpContent? content = null, string? host = null,
        Action<HttpRequestHeaders>? headers = null, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        if (key is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (host is not null)
            request.Headers.Host = host;
        headers?.Invoke(request.Headers);
        return await _http.SendAsync(request, completion);
    }

    public Task<HttpResponseMessage> GetAsync(Uri url, string? key = null, string? host = null) => SendAsync(HttpMethod.Get, url, key, host: host);

    /// <summary>The guest's echo of a request (its method, path, headers and body digest), failing with the answer when it is not one.</summary>
    public async Task<JsonNode> EchoAsync(HttpMethod method, Uri url, string? key = null, HttpContent? content = null, string? host = null, Action<HttpRequestHeaders>? headers = null)
    {
        using var response = await SendAsync(method, url, key, content, host, headers);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {url}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>A header of an echoed request, or null.</summary>
    public static string? Header(JsonNode echo, string name) =>
        echo["headers"]!.AsArray().FirstOrDefault(h => string.Equals(h![0]!.GetValue<string>(), name, StringComparison.OrdinalIgnoreCase))?[1]!.GetValue<string>();

    public static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>Sends each message and expects it back as sent, text and binary.</summary>
    public static async Task EchoOverWebSocketAsync(Uri url, string? key)
    {
        using var socket = new ClientWebSocket();
        if (key is not null)
            socket.Options.SetRequestHeader("Authorization", $"Bearer {key}");
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await socket.ConnectAsync(url, limit.Token);
        var binary = RandomNumberGenerator.GetBytes(200 * 1024);
        foreach (var (type, data) in new[] { (WebSocketMessageType.Text, "hello through the forward"u8.ToArray()), (WebSocketMessageType.Binary, binary) })
        {
            await socket.SendAsync(data, type, endOfMessage: true, limit.Token);
            using var received = new MemoryStream();
            var buffer = new byte[64 * 1024];
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, limit.Token);
                received.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);
            Assert.Equal(type, result.MessageType);
            Assert.Equal(data, received.ToArray());
        }
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", limit.Token);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    public void Dispose() => _http.Dispose();
}
