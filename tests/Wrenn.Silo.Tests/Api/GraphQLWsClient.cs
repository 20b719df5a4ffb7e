using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Wrenn.Silo.Tests.Api;

/// <summary>
/// The few graphql-transport-ws messages a test needs: init, subscribe, read what comes. One loop reads
/// the socket (a cancelled receive would abort a ClientWebSocket); waiting for a message never does.
/// </summary>
public sealed class GraphQLWsClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly Channel<JsonObject> _received = Channel.CreateUnbounded<JsonObject>();
    private Task? _reading;

    public static async Task<GraphQLWsClient> ConnectAsync(Uri baseAddress, string key)
    {
        var client = new GraphQLWsClient();
        client._socket.Options.AddSubProtocol("graphql-transport-ws");
        await client._socket.ConnectAsync(new UriBuilder(baseAddress) { Scheme = "ws", Path = "/graphql" }.Uri, CancellationToken.None);
        client._reading = client.ReadAsync();
        await client.SendAsync(new JsonObject { ["type"] = "connection_init", ["payload"] = new JsonObject { ["authorization"] = $"Bearer {key}" } });
        var ack = await client.ReceiveAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("connection_ack", ack?["type"]?.GetValue<string>());
        return client;
    }

    public Task SubscribeAsync(string id, string query, object? variables = null) => SendAsync(new JsonObject
    {
        ["id"] = id, ["type"] = "subscribe",
        ["payload"] = new JsonObject { ["query"] = query, ["variables"] = variables is null ? null : System.Text.Json.JsonSerializer.SerializeToNode(variables) },
    });

    public Task CompleteAsync(string id) => SendAsync(new JsonObject { ["id"] = id, ["type"] = "complete" });

    /// <summary>The next message, or null if none came within <paramref name="wait"/> (or the socket closed).</summary>
    public async Task<JsonObject?> ReceiveAsync(TimeSpan wait)
    {
        using var limit = new CancellationTokenSource(wait);
        try
        {
            return await _received.Reader.ReadAsync(limit.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            return null;
        }
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var received = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                    return;
                message.Write(buffer, 0, received.Count);
                if (received.EndOfMessage)
                {
                    if (JsonNode.Parse(Encoding.UTF8.GetString(message.ToArray())) is JsonObject parsed)
                        _received.Writer.TryWrite(parsed);
                    message.SetLength(0);
                }
            }
        }
        catch (WebSocketException)
        {
            // Closed under us: readers see the end.
        }
        finally
        {
            _received.Writer.TryComplete();
        }
    }

    private Task SendAsync(JsonObject message) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            }
            catch (WebSocketException)
            {
            }
        }
        _socket.Dispose();
        if (_reading is not null)
            await _reading;
    }
}
