using Grpc.Core;

namespace Wrenn.Guest.Agent;

/// <summary>The agent's failures as gRPC statuses, each with a message that names what was wrong.</summary>
internal static class Errors
{
    public static RpcException InvalidArgument(string message) => new(new Status(StatusCode.InvalidArgument, message));
    public static RpcException NotFound(string message) => new(new Status(StatusCode.NotFound, message));
    public static RpcException AlreadyExists(string message) => new(new Status(StatusCode.AlreadyExists, message));
    public static RpcException FailedPrecondition(string message) => new(new Status(StatusCode.FailedPrecondition, message));
    public static RpcException PermissionDenied(string message) => new(new Status(StatusCode.PermissionDenied, message));
    public static RpcException OutOfRange(string message) => new(new Status(StatusCode.OutOfRange, message));
    public static RpcException ResourceExhausted(string message) => new(new Status(StatusCode.ResourceExhausted, message));
    public static RpcException DataLoss(string message) => new(new Status(StatusCode.DataLoss, message));
    public static RpcException Internal(string message) => new(new Status(StatusCode.Internal, message));
}
