using System.Collections.Immutable;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Wrenn.Grains.Runtime;
using Wrenn.Silo.Runtime.Cluster;
using Wrenn.Silo.Runtime.Grains;

namespace Wrenn.Silo.Runtime.Transport;

/// <summary>A call on its way to another silo.</summary>
internal sealed record RemoteCall(GrainId Grain, GrainMethod Method, object?[] Arguments, ImmutableArray<string> Chain, string? PinTo, TimeSpan? Timeout);

/// <summary>Sends calls to other silos over HTTP/2 (cleartext, prior knowledge) on their internal endpoints.</summary>
internal sealed class TransportClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly JsonSerializerOptions _json;

    public TransportClient(JsonSerializerOptions json)
    {
        _json = json;
        _http = new HttpClient(new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan, // unary timeouts are the caller's cancellation; streams have none
        };
    }

    public async Task<object?> InvokeAsync(SiloInfo silo, RemoteCall call, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(silo, call, cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        object? result = null;
        while (true)
        {
            var frame = await ReadFrameAsync(silo, call, body, cancellationToken);
            switch (frame.Type)
            {
                case FrameType.Item:
                    result = JsonSerializer.Deserialize(frame.Payload, call.Method.ResultType!, _json);
                    break;
                case FrameType.End:
                    return result;
                default:
                    throw ErrorFrom(frame.Payload, call);
            }
        }
    }

    public async IAsyncEnumerable<object?> StreamAsync(SiloInfo silo, RemoteCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Disposing the response (when the consumer stops or cancels) resets the HTTP/2 stream,
        // which cancels the producer on the other silo.
        using var response = await SendAsync(silo, call, cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        while (true)
        {
            var frame = await ReadFrameAsync(silo, call, body, cancellationToken);
            if (frame.Type == FrameType.End)
                yield break;
            if (frame.Type == FrameType.Error)
                throw ErrorFrom(frame.Payload, call);
            yield return JsonSerializer.Deserialize(frame.Payload, call.Method.ResultType!, _json);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(SiloInfo silo, RemoteCall call, CancellationToken cancellationToken)
    {
        var arguments = new List<JsonElement>(call.Arguments.Length);
        for (var i = 0; i < call.Arguments.Length; i++)
            arguments.Add(JsonSerializer.SerializeToElement(call.Arguments[i], call.Method.ArgumentTypes[i], _json));
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(silo.Endpoint, CallHeaders.Path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(arguments, _json)),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(CallHeaders.Grain, CallHeaders.Escape(call.Grain.ToString()));
        request.Headers.Add(CallHeaders.Method, call.Method.Name);
        request.Headers.Add(CallHeaders.Target, silo.Incarnation.ToString());
        if (!call.Chain.IsEmpty)
            request.Headers.Add(CallHeaders.Chain, string.Join(' ', call.Chain.Select(CallHeaders.Escape)));
        if (call.PinTo is not null)
            request.Headers.Add(CallHeaders.PinTo, CallHeaders.Escape(call.PinTo));
        if (call.Timeout is { } timeout)
            request.Headers.Add(CallHeaders.TimeoutMs, ((long)timeout.TotalMilliseconds).ToString());
        try
        {
            var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                response.Dispose();
                throw new GrainUnavailableException(call.Grain.ToString(), $"silo {silo} answered HTTP {(int)response.StatusCode} ({text})");
            }
            return response;
        }
        catch (HttpRequestException e)
        {
            throw new GrainUnavailableException(call.Grain.ToString(), $"silo {silo} at {silo.Endpoint} cannot be reached ({e.Message})");
        }
    }

    private static async Task<(FrameType Type, byte[] Payload)> ReadFrameAsync(SiloInfo silo, RemoteCall call, Stream body, CancellationToken cancellationToken)
    {
        try
        {
            return await Frames.ReadAsync(body, cancellationToken)
                ?? throw new GrainUnavailableException(call.Grain.ToString(), $"silo {silo} ended the call without an answer");
        }
        catch (Exception e) when (e is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
        {
            throw new GrainUnavailableException(call.Grain.ToString(), $"the connection to silo {silo} broke during the call ({e.Message})");
        }
    }

    private Exception ErrorFrom(byte[] payload, RemoteCall call) =>
        (JsonSerializer.Deserialize<WireError>(payload, _json) ?? new WireError("error", "empty error")).ToException(call.Grain.ToString());

    public void Dispose() => _http.Dispose();
}
