namespace Wrenn.Grains.Errors;

/// <summary>Error codes callers act on (they map to GraphQL error codes).</summary>
public static class ErrorCodes
{
    public const string NotFound = "NOT_FOUND";
    public const string InvalidArgument = "INVALID_ARGUMENT";
    public const string FailedPrecondition = "FAILED_PRECONDITION";
    public const string ResourceExhausted = "RESOURCE_EXHAUSTED";
    public const string AlreadyExists = "ALREADY_EXISTS";
    public const string PermissionDenied = "PERMISSION_DENIED";
    public const string Cancelled = "CANCELLED";
    public const string DeadlineExceeded = "DEADLINE_EXCEEDED";
    public const string Internal = "INTERNAL";

    /// <summary>The host that runs the grain's VM is absent or suspected: retry later. The message names the host.</summary>
    public const string Unavailable = "UNAVAILABLE";
}
