using System.Collections.Immutable;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wrenn.Silo.Runtime.Calls;
using Wrenn.Silo.Runtime.Grains;

namespace Wrenn.Silo.Runtime.Transport;

/// <summary>The silo's internal endpoint: Kestrel, HTTP/2 only, answering calls from other silos.</summary>
internal sealed class TransportServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly JsonSerializerOptions _json;
    private Dispatcher? _dispatcher;
    private GrainRegistry? _registry;

    private TransportServer(WebApplication app, JsonSerializerOptions json)
    {
        _app = app;
        _json = json;
        app.MapPost(CallHeaders.Path, (RequestDelegate)HandleAsync);
    }

    public static async Task<TransportServer> StartAsync(IPAddress address, int port, JsonSerializerOptions json, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggers);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(address, port, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
            kestrel.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
        });
        var server = new TransportServer(builder.Build(), json);
        await server._app.StartAsync(cancellationToken);
        return server;
    }

    /// <summary>The bound address (with the real port when 0 was asked for).</summary>
    public Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public void Attach(Dispatcher dispatcher, GrainRegistry registry)
    {
        _dispatcher = dispatcher;
        _registry = registry;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        response.ContentType = Frames.ContentType;
        var cancellation = context.RequestAborted;
        var grainText = CallHeaders.Unescape(request.Headers[CallHeaders.Grain].ToString());
        try
        {
            if (_dispatcher is null || _registry is null)
                throw new NotHereException(null);
            var grain = GrainId.Parse(grainText);
            var kind = _registry.ByName(grain.Kind);
            var method = kind.Method(request.Headers[CallHeaders.Method].ToString());
            var target = long.Parse(request.Headers[CallHeaders.Target].ToString());
            var chainHeader = request.Headers[CallHeaders.Chain].ToString();
            var chain = chainHeader.Length == 0 ? ImmutableArray<string>.Empty : [.. chainHeader.Split(' ').Select(CallHeaders.Unescape)];
            var pinTo = request.Headers[CallHeaders.PinTo].ToString() is { Length: > 0 } pin ? CallHeaders.Unescape(pin) : null;
            var arguments = await ReadArgumentsAsync(request, method, cancellation);

            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            if (long.TryParse(request.Headers[CallHeaders.TimeoutMs].ToString(), out var timeoutMs))
                limit.CancelAfter(TimeSpan.FromMilliseconds(timeoutMs));

            var call = new IncomingCall(grain, method, arguments, chain, pinTo, target);
            if (method.Shape == ResultShape.Stream)
            {
                await foreach (var item in _dispatcher.StreamHereAsync(kind, call, limit.Token))
                    await Frames.WriteAsync(response.Body, FrameType.Item, JsonSerializer.SerializeToUtf8Bytes(item, method.ResultType!, _json), cancellation);
            }
            else
            {
                var result = await _dispatcher.InvokeHereAsync(kind, call, limit.Token);
                if (method.Shape == ResultShape.Value)
                    await Frames.WriteAsync(response.Body, FrameType.Item, JsonSerializer.SerializeToUtf8Bytes(result, method.ResultType!, _json), cancellation);
            }
            await Frames.WriteAsync(response.Body, FrameType.End, ReadOnlyMemory<byte>.Empty, cancellation);
        }
        catch (Exception) when (cancellation.IsCancellationRequested)
        {
            // The caller went away (cancelled or stopped reading a stream); nobody to answer.
        }
        catch (Exception e)
        {
            await Frames.WriteAsync(response.Body, FrameType.Error, JsonSerializer.SerializeToUtf8Bytes(WireError.From(e), _json), cancellation);
        }
    }

    private async Task<object?[]> ReadArgumentsAsync(HttpRequest request, GrainMethod method, CancellationToken cancellationToken)
    {
        var elements = await JsonSerializer.DeserializeAsync<JsonElement[]>(request.Body, _json, cancellationToken) ?? [];
        if (elements.Length != method.ArgumentTypes.Length)
            throw new ArgumentException($"{method.Interface.Name}.{method.Name} takes {method.ArgumentTypes.Length} arguments, the call carried {elements.Length}; are the silos running different versions?");
        var arguments = new object?[elements.Length];
        for (var i = 0; i < elements.Length; i++)
            arguments[i] = elements[i].Deserialize(method.ArgumentTypes[i], _json);
        return arguments;
    }

    /// <summary>Stops at once: open calls are aborted, as when a silo dies.</summary>
    public async ValueTask DisposeAsync()
    {
        using var now = new CancellationTokenSource();
        now.Cancel();
        try
        {
            await _app.StopAsync(now.Token);
        }
        catch (OperationCanceledException)
        {
        }
        await _app.DisposeAsync();
    }
}
