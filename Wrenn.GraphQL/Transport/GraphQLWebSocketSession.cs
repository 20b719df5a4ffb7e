using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using GraphQL;
using GraphQLParser.AST;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;
using Wrenn.GraphQL.Execution;
using Wrenn.GraphQL.RateLimiting;
using Wrenn.GraphQL.Schema;

namespace Wrenn.GraphQL.Transport;

/// <summary>
/// One WebSocket connection speaking graphql-transport-ws: connection_init (with the API key in
/// its payload) within the init timeout, then subscribe/next/error/complete per operation id, with
/// ping/pong; protocol violations close the socket with the protocol's codes. An operation past the
/// key's rate limits ends at once with an error RATE_LIMITED.
/// </summary>
internal sealed partial class GraphQLWebSocketSession(WebSocket socket, ApiExecutor executor, IWrennBackend backend, ApiRateLimits limits,
    TimeSpan initTimeout, int subscriptionBuffer, ILogger logger, Uri? origin = null)
{
    public const string Protocol = "graphql-transport-ws";
    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _operations = new();
    private Caller? _caller;
    private bool _initReceived;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _ = CloseIfNotInitialisedAsync(lifetime.Token);
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var text = await ReceiveAsync(lifetime.Token);
                if (text is null)
                    break;
                await HandleAsync(text, lifetime.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // The client went away.
        }
        finally
        {
            lifetime.Cancel();
            foreach (var operation in _operations.Values)
                operation.Cancel();
        }
    }

    private async Task CloseIfNotInitialisedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(initTimeout, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        if (!_initReceived)
            await CloseAsync(4408, "Connection initialisation timeout");
    }

    private async Task<string?> ReceiveAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, cancellationToken);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                // Complete the close handshake the client started.
                await _send.WaitAsync(cancellationToken);
                try
                {
                    if (socket.State == WebSocketState.CloseReceived)
                        await socket.CloseOutputAsync(socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, socket.CloseStatusDescription, cancellationToken);
                }
                finally
                {
                    _send.Release();
                }
                return null;
            }
            message.Write(buffer, 0, received.Count);
            if (message.Length > 16 * 1024 * 1024)
            {
                await CloseAsync(4400, "Message too large");
                return null;
            }
            if (received.EndOfMessage)
                return Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
        }
    }

    private async Task HandleAsync(string text, CancellationToken cancellationToken)
    {
        JsonObject message;
        string type;
        try
        {
            message = JsonNode.Parse(text) as JsonObject ?? throw new JsonException("not an object");
            type = message["type"]?.GetValue<string>() ?? throw new JsonException("no type");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            await CloseAsync(4400, "Invalid message received");
            return;
        }

        switch (type)
        {
            case "connection_init":
                if (_initReceived)
                {
                    await CloseAsync(4429, "Too many initialisation requests");
                    return;
                }
                _initReceived = true;
                var payload = message["payload"] as JsonObject;
                var authorization = (payload?["authorization"] ?? payload?["Authorization"])?.GetValue<string>();
                _caller = await ApiAuthentication.AuthenticateAsync(backend, authorization, cancellationToken);
                if (_caller is null)
                {
                    await CloseAsync(4403, "Forbidden");
                    return;
                }
                await SendAsync(new JsonObject { ["type"] = "connection_ack" }, cancellationToken);
                break;
            case "ping":
                await SendAsync(new JsonObject { ["type"] = "pong" }, cancellationToken);
                break;
            case "pong":
                break;
            case "subscribe":
                if (_caller is null)
                {
                    await CloseAsync(4401, "Unauthorized");
                    return;
                }
                var id = message["id"]?.GetValue<string>();
                var body = message["payload"];
                if (string.IsNullOrEmpty(id) || body is not JsonObject)
                {
                    await CloseAsync(4400, "Invalid message received");
                    return;
                }
                using (var document = JsonDocument.Parse(body.ToJsonString()))
                {
                    var (request, problem) = GraphQLHttpEndpoint.FromJson(document.RootElement);
                    if (request is null)
                    {
                        await CloseAsync(4400, problem!);
                        return;
                    }
                    if (_operations.ContainsKey(id))
                    {
                        await CloseAsync(4409, $"Subscriber for {id} already exists");
                        return;
                    }
                    // Each operation is a request of the key's, and its creates count, as over HTTP.
                    var prepared = executor.Prepare(request);
                    if ((limits.AdmitRequest(_caller) ?? limits.AdmitCreates(_caller, CreatingFields.Count(executor.Schema, prepared))) is { } limited)
                    {
                        await SendAsync(new JsonObject { ["type"] = "error", ["id"] = id, ["payload"] = new JsonArray(RateLimitResponses.Error(limited)) }, cancellationToken);
                        return;
                    }
                    var operation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    if (!_operations.TryAdd(id, operation))
                    {
                        operation.Dispose();
                        await CloseAsync(4409, $"Subscriber for {id} already exists");
                        return;
                    }
                    _ = RunOperationAsync(id, prepared, operation);
                }
                break;
            case "complete":
                if (message["id"]?.GetValue<string>() is { } done && _operations.TryRemove(done, out var cancelled))
                    cancelled.Cancel();
                break;
            default:
                await CloseAsync(4400, $"Invalid message type '{type}'");
                break;
        }
    }

    private async Task RunOperationAsync(string id, PreparedRequest request, CancellationTokenSource operation)
    {
        var token = operation.Token;
        using var credits = new StreamCredits(subscriptionBuffer);
        try
        {
            var result = await executor.ExecuteAsync(request, new ApiContext(_caller!, backend, credits) { Origin = origin }, token);
            if (!result.Executed)
            {
                await SendErrorsAsync(id, result, token);
                return;
            }
            if (request.Operation is OperationType.Subscription && result.Streams is { Count: > 0 } streams)
            {
                await StreamAsync(id, streams.Values.Single(), credits, token);
                return;
            }
            await SendNextAsync(id, result, token);
            if (_operations.ContainsKey(id))
                await SendAsync(new JsonObject { ["type"] = "complete", ["id"] = id }, token);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The client completed the operation or went away; its source was disposed.
        }
        catch (Exception e) when (e is not WebSocketException)
        {
            LogOperationFailed(logger, e, id);
            await SendAsync(new JsonObject
            {
                ["type"] = "error", ["id"] = id,
                ["payload"] = new JsonArray(new JsonObject { ["message"] = "The server failed to run this operation; it has been logged.", ["extensions"] = new JsonObject { ["code"] = "INTERNAL" } }),
            }, CancellationToken.None);
        }
        finally
        {
            _operations.TryRemove(new KeyValuePair<string, CancellationTokenSource>(id, operation));
            operation.Dispose();
        }
    }

    /// <summary>
    /// Sends a subscription's events in order, one message per event, giving a credit back after each
    /// so that the source runs at most the buffer ahead; ends with complete, or error if the source failed.
    /// </summary>
    private async Task StreamAsync(string id, IObservable<ExecutionResult> stream, StreamCredits credits, CancellationToken cancellationToken)
    {
        var events = System.Threading.Channels.Channel.CreateUnbounded<(ExecutionResult? Next, ExecutionError? Error)>(new() { SingleReader = true });
        using var subscription = stream.Subscribe(new ChannelObserver(events.Writer));
        await foreach (var (next, error) in events.Reader.ReadAllAsync(cancellationToken))
        {
            if (error is not null)
            {
                await SendErrorsAsync(id, new ExecutionResult(error), cancellationToken);
                return;
            }
            await SendNextAsync(id, next!, cancellationToken);
            credits.Return();
        }
        if (_operations.ContainsKey(id))
            await SendAsync(new JsonObject { ["type"] = "complete", ["id"] = id }, cancellationToken);
    }

    /// <summary>GraphQL.NET's events into a channel the sender reads in order (the credits bound what it holds).</summary>
    private sealed class ChannelObserver(System.Threading.Channels.ChannelWriter<(ExecutionResult? Next, ExecutionError? Error)> writer) : IObserver<ExecutionResult>
    {
        public void OnNext(ExecutionResult value) => writer.TryWrite((value, null));

        public void OnError(Exception error)
        {
            writer.TryWrite((null, error as ExecutionError ?? new ExecutionError("The event stream failed.")));
            writer.TryComplete();
        }

        public void OnCompleted() => writer.TryComplete();
    }

    private Task SendNextAsync(string id, ExecutionResult result, CancellationToken cancellationToken) =>
        SendAsync(new JsonObject { ["type"] = "next", ["id"] = id, ["payload"] = JsonNode.Parse(executor.Serialize(result)) }, cancellationToken);

    private Task SendErrorsAsync(string id, ExecutionResult result, CancellationToken cancellationToken) =>
        SendAsync(new JsonObject { ["type"] = "error", ["id"] = id, ["payload"] = JsonNode.Parse(executor.Serialize(result))!["errors"]!.DeepClone() }, cancellationToken);

    private async Task SendAsync(JsonObject message, CancellationToken cancellationToken)
    {
        var bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
        await _send.WaitAsync(cancellationToken);
        try
        {
            if (socket.State == WebSocketState.Open)
                await socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        }
        finally
        {
            _send.Release();
        }
    }

    private async Task CloseAsync(int code, string reason)
    {
        await _send.WaitAsync();
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, CancellationToken.None);
        }
        catch (WebSocketException)
        {
        }
        finally
        {
            _send.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "WebSocket operation {Id} failed unexpectedly")]
    private static partial void LogOperationFailed(ILogger logger, Exception exception, string id);
}
