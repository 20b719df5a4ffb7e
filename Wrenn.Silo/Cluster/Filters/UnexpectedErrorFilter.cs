using Microsoft.Extensions.Logging;
using Wrenn.Grains.Errors;

namespace Wrenn.Silo.Cluster.Filters;

/// <summary>
/// Every grain call that fails with an internal error — anything but a <see cref="GrainException"/>
/// (a bug, a failure nobody mapped), or a GrainException a grain raised as INTERNAL (what failed
/// on the host: a VMM, a disk) — is logged here once, with its details and an error id, and
/// reaches the caller as INTERNAL carrying that id and nothing of the internals: an operator finds
/// the log line from what the user reports. Errors the caller can act on pass unchanged.
/// </summary>
public sealed partial class UnexpectedErrorFilter(ILogger<UnexpectedErrorFilter> logger) : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception e) when (e is GrainException { Code: ErrorCodes.Internal } or not (GrainException or OperationCanceledException) && !IsLogged(e))
        {
            var errorId = ErrorId.New();
            LogUnexpected(e, context.TargetId.ToString(), context.InterfaceMethod?.Name ?? context.MethodName, errorId);
            throw new GrainException(ErrorCodes.Internal, $"{ErrorId.Prefix}{errorId}); the silo's log has the details under that id.");
        }
    }

    /// <summary>Already logged by the grain it came through (a call chain crosses several grains).</summary>
    private static bool IsLogged(Exception e) => e is GrainException { Code: ErrorCodes.Internal } g && g.Message.StartsWith(ErrorId.Prefix, StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Error, Message = "Internal error in {Grain}.{Method} (error id {ErrorId})")]
    private partial void LogUnexpected(Exception exception, string grain, string method, string errorId);
}

/// <summary>A short id for an error, shown to the caller and written to the log beside the details.</summary>
public static class ErrorId
{
    /// <summary>How an internal error's message starts; the id follows.</summary>
    public const string Prefix = "An internal error occurred (error id ";

    public static string New() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
}
