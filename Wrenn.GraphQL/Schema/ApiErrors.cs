using GraphQL;
using System.Text.RegularExpressions;
using Wrenn.Grains.Errors;

namespace Wrenn.GraphQL.Schema;

/// <summary>An error a client can act on: a message naming what was wrong and <c>extensions.code</c>.</summary>
public sealed class ApiError : ExecutionError
{
    public ApiError(string code, string message, string? errorId = null)
        : base(message)
    {
        Code = code;
        // In the extensions, not only in Code: the error info provider exposes Wrenn's codes only (request errors carry none).
        Extensions = new Dictionary<string, object?> { ["code"] = code };
        if (errorId is not null)
            Extensions["errorId"] = errorId;
    }
}

/// <summary>
/// Errors as clients see them. Grain errors keep their message under the API's codes; anything
/// unexpected is INTERNAL with a generic message and the id it was logged under.
/// </summary>
public static partial class ApiErrors
{
    public const string Internal = "INTERNAL";

    /// <summary>Past a rate limit of the API key (<c>extensions.retryAfterSeconds</c> says when to try again; over HTTP the status is 429 with Retry-After).</summary>
    public const string RateLimited = "RATE_LIMITED";

    public static ApiError Error(string code, string message) => new(code, message);

    public static ApiError Unauthenticated() =>
        new("UNAUTHENTICATED", "Missing or unknown API key: send `Authorization: Bearer wrn_…` (on WebSocket, in connection_init's payload).");

    /// <summary>The message of an INTERNAL error: no detail of what failed, only where the operator finds it.</summary>
    public static string InternalMessage(string errorId) => $"The server failed to do this; it has been logged with error id {errorId}. Try again.";

    /// <summary>True for grain errors that are the silo's fault, not the caller's: logged with an id like any unexpected exception.</summary>
    public static bool IsInternal(GrainException e) => e.Code is "INTERNAL" or "UNKNOWN" or "UNIMPLEMENTED" or "ACTIVATION_FAILED";

    /// <summary>
    /// The id under which the silo already logged an internal grain error (its call filter names it
    /// in the message): the API passes that id on rather than logging the error a second time.
    /// </summary>
    public static string? LoggedErrorId(GrainException e) => LoggedId().Match(e.Message) is { Success: true } m ? m.Groups["id"].Value : null;

    [GeneratedRegex(@"\(error id (?<id>[0-9a-f]+)\)")]
    private static partial Regex LoggedId();

    public static ApiError From(GrainException e) => new(e.Code switch
    {
        "NOT_FOUND" => "NOT_FOUND",
        "INVALID_ARGUMENT" or "ALREADY_EXISTS" => "BAD_USER_INPUT",
        "FAILED_PRECONDITION" or "CANCELLED" => "FAILED_PRECONDITION",
        "RESOURCE_EXHAUSTED" => "RESOURCE_EXHAUSTED",
        "PERMISSION_DENIED" => "FORBIDDEN",
        "UNAVAILABLE" => "UNAVAILABLE",
        "DEADLINE_EXCEEDED" => "DEADLINE_EXCEEDED",
        _ => Internal,
    }, e.Message);
}
