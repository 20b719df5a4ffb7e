using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Wrenn.Silo.Metrics;

/// <summary>
/// Watches the calls a sandbox grain makes to its guest agent (a gRPC interceptor on the grain's
/// client): counts commands started and calls that failed. Boot-time health polling uses clients of
/// its own, so a booting guest's refusals are not counted as errors.
/// </summary>
public sealed class AgentCallObserver(WrennMeters meters) : Interceptor
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        Started(context.Method);
        var call = continuation(request, context);
        return new AsyncUnaryCall<TResponse>(Observe(call.ResponseAsync, context.Method), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(TRequest request,
        ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        Started(context.Method);
        var call = continuation(request, context);
        return new AsyncServerStreamingCall<TResponse>(new ObservedReader<TResponse>(call.ResponseStream, this, context.Method),
            call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var call = continuation(context);
        return new AsyncClientStreamingCall<TRequest, TResponse>(call.RequestStream, Observe(call.ResponseAsync, context.Method),
            call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var call = continuation(context);
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(call.RequestStream, new ObservedReader<TResponse>(call.ResponseStream, this, context.Method),
            call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    /// <summary>Starting a process is an exec, whichever call started it.</summary>
    private void Started(IMethod method)
    {
        if (method.ServiceName == "wrenn.guest.v1.ProcessService" && method.Name is "Start" or "StartProcess")
            meters.Exec();
    }

    private async Task<TResponse> Observe<TResponse>(Task<TResponse> response, IMethod method)
    {
        try
        {
            return await response.ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            Failed(method, e);
            throw;
        }
    }

    private void Failed(IMethod method, RpcException e)
    {
        if (e.StatusCode != StatusCode.Cancelled)
            meters.AgentError(method.Name, e.StatusCode.ToString());
    }

    private sealed class ObservedReader<T>(IAsyncStreamReader<T> inner, AgentCallObserver observer, IMethod method) : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            try
            {
                return await inner.MoveNext(cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e)
            {
                observer.Failed(method, e);
                throw;
            }
        }
    }
}
