using Grpc.Core;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Protocol;

/// <summary>
/// A process's standard input as one client-streamed call (ProcessService.StreamInput): writes
/// go in order over one stream. <see cref="CompleteAsync"/> ends the call (and, if asked, closes
/// the input); disposing without it abandons the call.
/// </summary>
public sealed class AgentInput : IDisposable
{
    private readonly AsyncClientStreamingCall<SendInputRequest, SendInputResponse> _call;
    private readonly int _pid;
    private bool _first = true;

    internal AgentInput(AsyncClientStreamingCall<SendInputRequest, SendInputResponse> call, int pid)
    {
        _call = call;
        _pid = pid;
    }

    /// <summary>Sends <paramref name="data"/>; it reaches the process in the order written.</summary>
    public Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => SendAsync(data, close: false, cancellationToken);

    /// <summary>Ends the stream; with <paramref name="closeInput"/> the process's input is closed too (EOF).</summary>
    public async Task CompleteAsync(bool closeInput, CancellationToken cancellationToken)
    {
        if (closeInput || _first)
            await SendAsync(ReadOnlyMemory<byte>.Empty, closeInput, cancellationToken);
        try
        {
            await _call.RequestStream.CompleteAsync();
            await _call.ResponseAsync;
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException)
        {
            throw await AgentCalls.AnswerOf(_call.ResponseAsync, e);
        }
    }

    public void Dispose() => _call.Dispose();

    private async Task SendAsync(ReadOnlyMemory<byte> data, bool close, CancellationToken cancellationToken)
    {
        var message = new SendInputRequest { Pid = _first ? _pid : 0, Data = Google.Protobuf.ByteString.CopyFrom(data.Span), Close = close };
        _first = false;
        try
        {
            await _call.RequestStream.WriteAsync(message, cancellationToken);
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException)
        {
            // The agent ended the call (e.g. the process is gone): its status says why.
            throw await AgentCalls.AnswerOf(_call.ResponseAsync, e);
        }
    }
}
