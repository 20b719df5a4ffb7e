using Wrenn.Grains.Errors;
using Wrenn.GraphQL.Engine.Execution;

namespace Wrenn.GraphQL.Schema;

/// <summary>
/// Errors as clients see them: a message a user can act on and <c>extensions.code</c>. Grain errors
/// keep their message under the API's codes; anything unexpected is INTERNAL with a generic message.
/// </summary>
public static class ApiErrors
{
    public static GraphQLRequestException Error(string code, string message) =>
        new(message, new Dictionary<string, object?> { ["code"] = code });

    public static GraphQLRequestException Unauthenticated() =>
        Error("UNAUTHENTICATED", "Missing or unknown API key: send `Authorization: Bearer wrn_…` (on WebSocket, in connection_init's payload).");

    /// <summary>Runs a resolver body, turning grain errors into coded GraphQL errors.</summary>
    public static async ValueTask<object?> Guard(Func<Task<object?>> body)
    {
        try
        {
            return await body();
        }
        catch (GrainException e)
        {
            throw From(e);
        }
    }

    public static GraphQLRequestException From(GrainException e) => Error(e.Code switch
    {
        "NOT_FOUND" => "NOT_FOUND",
        "INVALID_ARGUMENT" or "ALREADY_EXISTS" => "BAD_USER_INPUT",
        "FAILED_PRECONDITION" or "CANCELLED" => "FAILED_PRECONDITION",
        "RESOURCE_EXHAUSTED" => "RESOURCE_EXHAUSTED",
        "PERMISSION_DENIED" => "FORBIDDEN",
        "UNAVAILABLE" or "LOST" or "CALL_CYCLE" => "UNAVAILABLE",
        "DEADLINE_EXCEEDED" => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }, e.Code is not ("INTERNAL" or "UNKNOWN" or "UNIMPLEMENTED" or "ACTIVATION_FAILED") ? e.Message
        // The silo logged it under an error id its message names, and says nothing else of it.
        : e.Message.Contains("(error id ", StringComparison.Ordinal) ? e.Message
        : "The server failed to do this; it has been logged. Try again.");
}
