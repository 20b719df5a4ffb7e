using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Google.Protobuf;

namespace Wrenn.Guest.Protocol.Connect;

/// <summary>
/// Calls Connect procedures over HttpClient: unary and server-streaming, with either codec.
/// Failures surface as <see cref="ConnectException"/>: the peer's own error, or
/// <c>unavailable</c> when it cannot be reached.
/// </summary>
public sealed class ConnectClient(HttpClient http, Uri baseAddress, ConnectCodec? codec = null)
{
    private readonly ConnectCodec _codec = codec ?? ConnectCodec.Proto;

    public Uri BaseAddress { get; } = baseAddress;

    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(
        string procedure, TRequest request, MessageParser<TResponse> parser, TimeSpan? timeout, CancellationToken cancellationToken)
        where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>
    {
        using var message = NewRequest(procedure, timeout);
        message.Content = new ByteArrayContent(_codec.Serialize(request));
        message.Content.Headers.ContentType = new MediaTypeHeaderValue(_codec.UnaryContentType);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } t)
            timeoutSource.CancelAfter(t);
        try
        {
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseContentRead, timeoutSource.Token);
            var body = await response.Content.ReadAsByteArrayAsync(timeoutSource.Token);
            if (response.StatusCode != HttpStatusCode.OK)
                throw ConnectCodec.ParseError(body, (int)response.StatusCode);
            return _codec.Deserialize(parser, body);
        }
        catch (Exception e) when (e is not ConnectException)
        {
            throw Translate(e, procedure, cancellationToken, timeoutSource);
        }
    }

    public async IAsyncEnumerable<TResponse> ServerStreamAsync<TRequest, TResponse>(
        string procedure, TRequest request, MessageParser<TResponse> parser, TimeSpan? timeout,
        [EnumeratorCancellation] CancellationToken cancellationToken)
        where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>
    {
        // The deadline covers the whole stream: the server ends it with deadline_exceeded, and the
        // client gives up on its own too, in case the server cannot answer at all.
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } t)
            timeoutSource.CancelAfter(t);
        var token = timeoutSource.Token;
        using var message = NewRequest(procedure, timeout);
        using var body = new MemoryStream();
        await Envelope.WriteAsync(body, 0, _codec.Serialize(request), token);
        message.Content = new ByteArrayContent(body.ToArray());
        message.Content.Headers.ContentType = new MediaTypeHeaderValue(_codec.StreamingContentType);

        HttpResponseMessage response;
        Stream stream;
        try
        {
            response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var error = await response.Content.ReadAsByteArrayAsync(token);
                response.Dispose();
                throw ConnectCodec.ParseError(error, (int)response.StatusCode);
            }
            stream = await response.Content.ReadAsStreamAsync(token);
        }
        catch (Exception e) when (e is not ConnectException)
        {
            throw Translate(e, procedure, cancellationToken, timeoutSource);
        }

        using (response)
        await using (stream)
        {
            while (true)
            {
                (byte Flags, byte[] Payload)? envelope;
                try
                {
                    envelope = await Envelope.ReadAsync(stream, token);
                }
                catch (Exception e) when (e is not ConnectException)
                {
                    throw Translate(e, procedure, cancellationToken, timeoutSource);
                }
                if (envelope is null)
                    throw new ConnectException(ConnectCode.DataLoss, $"{procedure}: the stream ended without an end-of-stream message.");
                if ((envelope.Value.Flags & Envelope.EndStreamFlag) != 0)
                {
                    if (ConnectCodec.ParseEndStream(envelope.Value.Payload) is { } end)
                        throw end;
                    yield break;
                }
                yield return _codec.Deserialize(parser, envelope.Value.Payload);
            }
        }
    }

    private HttpRequestMessage NewRequest(string procedure, TimeSpan? timeout)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, new Uri(BaseAddress, procedure));
        message.Headers.Add("Connect-Protocol-Version", "1");
        if (timeout is { } t)
            message.Headers.Add("Connect-Timeout-Ms", ((long)t.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        return message;
    }

    private ConnectException Translate(Exception e, string procedure, CancellationToken caller, CancellationTokenSource? timeout)
    {
        if (e is OperationCanceledException && caller.IsCancellationRequested)
            return new ConnectException(ConnectCode.Canceled, $"{procedure} was cancelled by the caller.", e);
        if (e is OperationCanceledException && timeout is { IsCancellationRequested: true })
            return new ConnectException(ConnectCode.DeadlineExceeded, $"{procedure} did not answer in time.", e);
        return new ConnectException(ConnectCode.Unavailable, $"{procedure} at {BaseAddress} could not be reached: {e.Message}", e);
    }
}
