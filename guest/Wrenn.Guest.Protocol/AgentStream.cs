using System.Runtime.CompilerServices;
using Grpc.Core;

namespace Wrenn.Guest.Protocol;

/// <summary>
/// A server stream the agent has confirmed (its response headers arrived, e.g. a directory watch
/// is in place). Enumerate it once; dispose it to end the call.
/// </summary>
public sealed class AgentStream<T> : IAsyncEnumerable<T>, IDisposable
{
    private readonly AsyncServerStreamingCall<T> _call;

    internal AgentStream(AsyncServerStreamingCall<T> call) => _call = call;

    public async IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        await foreach (var item in AgentCalls.Read(_call.ResponseStream, cancellationToken))
            yield return item;
    }

    public void Dispose() => _call.Dispose();
}

/// <summary>Reads gRPC streams with every failure as an <see cref="AgentException"/>.</summary>
internal static class AgentCalls
{
    public static async IAsyncEnumerable<T> Read<T>(IAsyncStreamReader<T> stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                if (!await stream.MoveNext(cancellationToken))
                    yield break;
            }
            catch (RpcException e)
            {
                throw AgentException.From(e);
            }
            yield return stream.Current;
        }
    }

    /// <summary>
    /// The failure to report when sending on a client stream failed: the agent's own status if it
    /// answered (it may end the call early, e.g. refusing a file), else the send's failure.
    /// </summary>
    public static async Task<AgentException> AnswerOf<T>(Task<T> response, Exception sendFailure)
    {
        try
        {
            await response.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (RpcException answer) when (answer.StatusCode != StatusCode.Cancelled || sendFailure is not RpcException)
        {
            return AgentException.From(answer);
        }
        catch (Exception)
        {
            // No better answer (cancelled too, or none in time): report the send's failure.
        }
        return sendFailure is RpcException rpc
            ? AgentException.From(rpc)
            : new AgentException(StatusCode.Unknown, sendFailure.Message, sendFailure);
    }

    public static async Task<T> Unary<T>(AsyncUnaryCall<T> call)
    {
        using (call)
        {
            try
            {
                return await call.ResponseAsync;
            }
            catch (RpcException e)
            {
                throw AgentException.From(e);
            }
        }
    }
}
