using GraphQL.Execution;
using Microsoft.Extensions.Logging;
using Wrenn.Grains.Errors;
using Wrenn.GraphQL.Schema;

namespace Wrenn.GraphQL.Execution;

/// <summary>
/// Every exception a resolver lets out passes here once (GraphQL.NET's unhandled-exception delegate):
/// grain errors become their API codes; anything else is logged with its stack under a new id, and the
/// client gets INTERNAL with that id and nothing of the exception.
/// </summary>
public sealed partial class UnexpectedErrors(ILogger<UnexpectedErrors> logger)
{
    public Task HandleAsync(UnhandledExceptionContext context)
    {
        var original = context.OriginalException;
        if (original is GrainException grain && !ApiErrors.IsInternal(grain))
        {
            context.Exception = ApiErrors.From(grain);
            return Task.CompletedTask;
        }
        if (original is GrainException logged && ApiErrors.LoggedErrorId(logged) is { } id)
        {
            context.Exception = new ApiError(ApiErrors.Internal, ApiErrors.InternalMessage(id), id);
            return Task.CompletedTask;
        }
        context.Exception = Internal(original, context.FieldContext?.Path is { } path ? string.Join('.', path) : null);
        return Task.CompletedTask;
    }

    /// <summary>Logs an unexpected exception once and returns what the client sees of it.</summary>
    public ApiError Internal(Exception exception, string? where)
    {
        var id = Guid.NewGuid().ToString("N")[..12];
        LogUnexpected(logger, exception, id, where ?? "(request)");
        return new ApiError(ApiErrors.Internal, ApiErrors.InternalMessage(id), id);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "GraphQL error {ErrorId} at {Path}: an unexpected exception; the client got INTERNAL with this id")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string errorId, string path);
}
