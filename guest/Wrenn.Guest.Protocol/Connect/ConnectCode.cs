namespace Wrenn.Guest.Protocol.Connect;

/// <summary>The Connect protocol's error codes (the same set as gRPC's, spelled in snake_case on the wire).</summary>
public enum ConnectCode
{
    Canceled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    DataLoss,
    Unauthenticated,
}

/// <summary>Wire names and HTTP statuses of <see cref="ConnectCode"/>, as the Connect specification maps them.</summary>
public static class ConnectCodes
{
    public static string ToWire(this ConnectCode code) => code switch
    {
        ConnectCode.Canceled => "canceled",
        ConnectCode.Unknown => "unknown",
        ConnectCode.InvalidArgument => "invalid_argument",
        ConnectCode.DeadlineExceeded => "deadline_exceeded",
        ConnectCode.NotFound => "not_found",
        ConnectCode.AlreadyExists => "already_exists",
        ConnectCode.PermissionDenied => "permission_denied",
        ConnectCode.ResourceExhausted => "resource_exhausted",
        ConnectCode.FailedPrecondition => "failed_precondition",
        ConnectCode.Aborted => "aborted",
        ConnectCode.OutOfRange => "out_of_range",
        ConnectCode.Unimplemented => "unimplemented",
        ConnectCode.Internal => "internal",
        ConnectCode.Unavailable => "unavailable",
        ConnectCode.DataLoss => "data_loss",
        ConnectCode.Unauthenticated => "unauthenticated",
        _ => "unknown",
    };

    public static ConnectCode FromWire(string? wire)
    {
        foreach (var code in Enum.GetValues<ConnectCode>())
        {
            if (code.ToWire() == wire)
                return code;
        }
        return ConnectCode.Unknown;
    }

    public static int HttpStatus(this ConnectCode code) => code switch
    {
        ConnectCode.Canceled => 499,
        ConnectCode.InvalidArgument => 400,
        ConnectCode.DeadlineExceeded => 504,
        ConnectCode.NotFound => 404,
        ConnectCode.AlreadyExists => 409,
        ConnectCode.PermissionDenied => 403,
        ConnectCode.ResourceExhausted => 429,
        ConnectCode.FailedPrecondition => 400,
        ConnectCode.Aborted => 409,
        ConnectCode.OutOfRange => 400,
        ConnectCode.Unimplemented => 501,
        ConnectCode.Unavailable => 503,
        ConnectCode.Unauthenticated => 401,
        _ => 500,
    };

    /// <summary>The code a client infers from an HTTP status when the body carries no Connect error.</summary>
    public static ConnectCode FromHttpStatus(int status) => status switch
    {
        400 => ConnectCode.Internal,
        401 => ConnectCode.Unauthenticated,
        403 => ConnectCode.PermissionDenied,
        404 => ConnectCode.Unimplemented,
        429 or 502 or 503 or 504 => ConnectCode.Unavailable,
        _ => ConnectCode.Unknown,
    };
}

/// <summary>A Connect error: a code a caller can act on and a message for people.</summary>
public sealed class ConnectException(ConnectCode code, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public ConnectCode Code { get; } = code;

    public override string ToString() => $"{Code.ToWire()}: {Message}";
}
