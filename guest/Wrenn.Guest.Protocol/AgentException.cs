using Grpc.Core;

namespace Wrenn.Guest.Protocol;

/// <summary>
/// A failed agent call: the gRPC status code a caller can act on (NotFound, InvalidArgument,
/// Unavailable, DeadlineExceeded, …) and the agent's message for people. Every failure of
/// <see cref="AgentClient"/> is one of these.
/// </summary>
public sealed class AgentException(StatusCode code, string message, Exception? inner = null) : Exception(message, inner)
{
    public StatusCode Code { get; } = code;

    public override string ToString() => $"{Code}: {Message}";

    internal static AgentException From(RpcException e) =>
        new(e.StatusCode, string.IsNullOrEmpty(e.Status.Detail) ? e.StatusCode.ToString() : e.Status.Detail, e);
}
