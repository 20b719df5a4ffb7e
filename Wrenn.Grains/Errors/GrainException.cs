namespace Wrenn.Grains.Errors;

/// <summary>
/// An error a grain reports on purpose, with a code callers can act on (<see cref="ErrorCodes"/>:
/// NOT_FOUND, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, …). It keeps its code and message across
/// silos; the API maps the code to its own error codes.
/// </summary>
[GenerateSerializer]
[Alias("wrenn.GrainException")]
public class GrainException : Exception
{
    public GrainException(string code, string message) : base(message) => Code = code;

    public GrainException(string code, string message, Exception inner) : base(message, inner) => Code = code;

    [Id(0)]
    public string Code { get; private set; }
}
