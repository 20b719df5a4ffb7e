using Microsoft.Extensions.Logging;
using Wrenn.Grains.Errors;

namespace Wrenn.Silo.Cluster.Filters;

/// <summary>
/// Every grain call that fails with anything but a <see cref="GrainException"/> (a bug, or a
/// failure nobody mapped) is logged here once, with its stack and an error id, and reaches the
/// caller as INTERNAL carrying that id and nothing of the internals: an operator finds the log
/// line from what the user reports.
/// </summary>
public sealed partial class UnexpectedErrorFilter(ILogger<UnexpectedErrorFilter> logger) : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception e) when (e is not GrainException and not OperationCanceledException)
        {
            var errorId = ErrorId.New();
            LogUnexpected(e, context.TargetId.ToString(), context.InterfaceMethod?.Name ?? context.MethodName, errorId);
            throw new GrainException(ErrorCodes.Internal, $"An internal error occurred (error id {errorId}); the silo's log has the details under that id.");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected error in {Grain}.{Method} (error id {ErrorId})")]
    private partial void LogUnexpected(Exception exception, string grain, string method, string errorId);
}

/// <summary>A short id for an error, shown to the caller and written to the log beside the details.</summary>
public static class ErrorId
{
    public static string New() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
}
