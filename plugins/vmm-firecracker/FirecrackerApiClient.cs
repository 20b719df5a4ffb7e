using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Plugins.Vmm.Firecracker;

/// <summary>
/// Firecracker's HTTP API on its Unix socket (no SDK). A refusal surfaces as a
/// <see cref="VmmException"/> carrying Firecracker's own fault_message.
/// </summary>
public sealed class FirecrackerApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _socketPath;

    public FirecrackerApiClient(string socketPath)
    {
        _socketPath = socketPath;
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        })
        {
            BaseAddress = new Uri("http://localhost"),
            Timeout = TimeSpan.FromSeconds(60),
        };
    }

    public Task PutAsync(string path, JsonObject body, CancellationToken cancellationToken) => SendAsync(HttpMethod.Put, path, body, cancellationToken);

    public Task PatchAsync(string path, JsonObject body, CancellationToken cancellationToken) => SendAsync(HttpMethod.Patch, path, body, cancellationToken);

    public async Task<JsonNode?> GetAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(path, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw Refusal(HttpMethod.Get, path, response.StatusCode, text);
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    private async Task SendAsync(HttpMethod method, string path, JsonObject body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json");
        using var response = await _http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw Refusal(method, path, response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    private VmmException Refusal(HttpMethod method, string path, HttpStatusCode status, string body)
    {
        string fault;
        try
        {
            fault = JsonNode.Parse(body)?["fault_message"]?.GetValue<string>() ?? body;
        }
        catch (JsonException)
        {
            fault = body;
        }
        return new VmmException($"Firecracker ({_socketPath}) refused {method} {path} ({(int)status}): {fault}");
    }

    public void Dispose() => _http.Dispose();
}
