using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Wrenn.Guest.Protocol.Connect;

/// <summary>
/// Serves Connect procedures from ASP.NET Core: <c>POST /{package.Service}/{Method}</c>, unary
/// (<c>application/proto|json</c>) and server-streaming (<c>application/connect+proto|json</c>).
/// Handlers throw <see cref="ConnectException"/> for failures a caller can act on; anything else
/// becomes <c>internal</c> without its details.
/// </summary>
public sealed class ConnectServer(IEndpointRouteBuilder endpoints)
{
    /// <summary>The context a handler sees.</summary>
    public sealed record CallContext(HttpContext Http, CancellationToken CancellationToken);

    public ConnectServer Unary<TRequest, TResponse>(
        string procedure, MessageParser<TRequest> parser, Func<TRequest, CallContext, Task<TResponse>> handler)
        where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>
    {
        endpoints.MapPost("/" + procedure, (RequestDelegate)(async http =>
        {
            if (Negotiate(http, streaming: false) is not { } codec)
                return;
            using var deadline = Deadline(http);
            try
            {
                RequireIdentity(http.Request.Headers.ContentEncoding);
                var body = await ReadBodyAsync(http.Request, deadline.Token);
                var request = codec.Deserialize(parser, body);
                var response = await handler(request, new CallContext(http, deadline.Token));
                http.Response.StatusCode = 200;
                http.Response.ContentType = codec.UnaryContentType;
                await http.Response.Body.WriteAsync(codec.Serialize(response), deadline.Token);
            }
            catch (Exception e) when (!http.Response.HasStarted)
            {
                var error = ToConnect(e, http, deadline);
                http.Response.StatusCode = error.Code.HttpStatus();
                http.Response.ContentType = "application/json";
                await http.Response.Body.WriteAsync(ConnectCodec.ErrorJson(error), CancellationToken.None);
            }
        }));
        return this;
    }

    public ConnectServer ServerStream<TRequest, TResponse>(
        string procedure, MessageParser<TRequest> parser, Func<TRequest, CallContext, IAsyncEnumerable<TResponse>> handler)
        where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>
    {
        endpoints.MapPost("/" + procedure, (RequestDelegate)(async http =>
        {
            if (Negotiate(http, streaming: true) is not { } codec)
                return;
            using var deadline = Deadline(http);
            // A streaming response always starts with 200; errors travel in the end-of-stream message.
            http.Response.StatusCode = 200;
            http.Response.ContentType = codec.StreamingContentType;
            ConnectException? failure = null;
            try
            {
                RequireIdentity(http.Request.Headers["Connect-Content-Encoding"]);
                var envelope = await Envelope.ReadAsync(http.Request.Body, deadline.Token)
                    ?? throw new ConnectException(ConnectCode.InvalidArgument, "The request carries no message envelope.");
                var request = codec.Deserialize(parser, envelope.Payload);
                await http.Response.StartAsync(deadline.Token);
                await foreach (var message in handler(request, new CallContext(http, deadline.Token)).WithCancellation(deadline.Token))
                {
                    await Envelope.WriteAsync(http.Response.Body, 0, codec.Serialize(message), deadline.Token);
                    // Flush each message: output must reach the caller as it is produced.
                    await http.Response.Body.FlushAsync(deadline.Token);
                }
            }
            catch (Exception e)
            {
                failure = ToConnect(e, http, deadline);
            }
            if (http.RequestAborted.IsCancellationRequested)
                return;
            await Envelope.WriteAsync(http.Response.Body, Envelope.EndStreamFlag, ConnectCodec.EndStreamJson(failure), CancellationToken.None);
        }));
        return this;
    }

    /// <summary>
    /// The codec the request's Content-Type names; for anything else the Connect spec answers 415
    /// with the accepted types and no Connect body, and this returns null.
    /// </summary>
    private static ConnectCodec? Negotiate(HttpContext http, bool streaming)
    {
        if (ConnectCodec.FromContentType(http.Request.ContentType, streaming) is { } codec)
            return codec;
        http.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
        http.Response.Headers.Accept = streaming
            ? "application/connect+proto, application/connect+json"
            : "application/proto, application/json";
        return null;
    }

    private static ConnectException ToConnect(Exception e, HttpContext http, CancellationTokenSource deadline) => e switch
    {
        ConnectException connect => connect,
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
            new ConnectException(ConnectCode.ResourceExhausted, $"The request exceeds {Envelope.MaxMessageBytes} bytes: send large data in chunks."),
        BadHttpRequestException bad => new ConnectException(ConnectCode.InvalidArgument, $"The request is malformed: {bad.Message}"),
        OperationCanceledException when http.RequestAborted.IsCancellationRequested =>
            new ConnectException(ConnectCode.Canceled, "The caller went away."),
        OperationCanceledException when deadline.IsCancellationRequested =>
            new ConnectException(ConnectCode.DeadlineExceeded, "The call's deadline (Connect-Timeout-Ms) passed."),
        _ => new ConnectException(ConnectCode.Internal, "The agent failed unexpectedly; see its log."),
    };

    /// <summary>Only the identity encoding is supported: the agent's payloads are small or already compressed.</summary>
    private static void RequireIdentity(string? encoding)
    {
        if (!string.IsNullOrEmpty(encoding) && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
            throw new ConnectException(ConnectCode.Unimplemented, $"Compression '{encoding}' is not supported: send identity (uncompressed) messages.");
    }

    /// <summary>Cancelled when the caller goes away or its Connect-Timeout-Ms passes.</summary>
    private static CancellationTokenSource Deadline(HttpContext http)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        if (long.TryParse(http.Request.Headers["Connect-Timeout-Ms"], out var ms) && ms > 0)
            source.CancelAfter(TimeSpan.FromMilliseconds(Math.Min(ms, int.MaxValue)));
        return source;
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > Envelope.MaxMessageBytes)
            throw new ConnectException(ConnectCode.ResourceExhausted, $"The request of {request.ContentLength} bytes exceeds {Envelope.MaxMessageBytes} bytes: send large data in chunks.");
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + n > Envelope.MaxMessageBytes)
                throw new ConnectException(ConnectCode.ResourceExhausted, $"The request exceeds {Envelope.MaxMessageBytes} bytes.");
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }
}
