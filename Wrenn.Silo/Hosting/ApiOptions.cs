using System.Net;
using Microsoft.Extensions.Options;

namespace Wrenn.Silo.Hosting;

/// <summary>Where the public API (GraphQL, files, the console, the dashboard) listens (configuration <c>Wrenn:Api</c>).</summary>
public sealed class ApiOptions
{
    public const string Section = "Wrenn:Api";

    public string Listen { get; set; } = "127.0.0.1";

    /// <summary>0 picks a free port (the silo prints the one it took).</summary>
    public int Port { get; set; } = 8080;
}

public sealed class ApiOptionsValidator : IValidateOptions<ApiOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiOptions options)
    {
        var errors = new List<string>();
        if (!IPAddress.TryParse(options.Listen, out _))
            errors.Add($"{ApiOptions.Section}:Listen must be an IP address (got '{options.Listen}').");
        if (options.Port is < 0 or > 65535)
            errors.Add($"{ApiOptions.Section}:Port must be between 0 and 65535 (got {options.Port}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
