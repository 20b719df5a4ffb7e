namespace Wrenn.Grains.Sandboxes;

public enum Role { Member, Admin }

/// <summary>
/// Who makes a call: the team everything is scoped to and the API key used. Every grain method of
/// the platform takes it first and checks it: a sandbox or template of another team is NOT_FOUND.
/// </summary>
/// <param name="KeyId">The API key's id (null for the silo itself: reconciler, timeouts).</param>
public sealed record Caller(string TeamId, string? KeyId, Role Role)
{
    /// <summary>The silo acting on its own behalf; only internal paths use it.</summary>
    public static Caller System { get; } = new("system", null, Role.Admin);

    public bool IsSystem => TeamId == System.TeamId && KeyId is null;
}

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
    public const string Unavailable = "UNAVAILABLE";
}
