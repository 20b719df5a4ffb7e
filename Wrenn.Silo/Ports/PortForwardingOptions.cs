using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Wrenn.Silo.Ports;

/// <summary>Port forwarding into sandboxes (configuration <c>Wrenn:Proxy</c>; every silo of a cluster takes the same settings).</summary>
public sealed class PortForwardingOptions
{
    public const string Section = "Wrenn:Proxy";

    /// <summary>
    /// With a domain set, <c>{port}-{sandboxId}.{Domain}</c> is forwarded to that port at <c>/</c>, for apps
    /// that must live at the root (its DNS names and the API's address must lead to a silo). Null: path routing only.
    /// </summary>
    public string? Domain { get; set; }

    /// <summary>
    /// The base URL port URLs are made on (e.g. a load balancer in front of the silos). Null: the
    /// address the createPortUrl request came to.
    /// </summary>
    public string? PublicUrl { get; set; }

    /// <summary>
    /// How other silos reach this silo's API, to forward requests for its sandboxes (published in the
    /// database at start). Null: the API's listen address with the port it took, or the cluster's
    /// advertised address when the API listens on every address.
    /// </summary>
    public string? SiloUrl { get; set; }

    /// <summary>A forwarded request, response or WebSocket idle for longer is closed.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a connection to a port in a guest (or to another silo) may take to open.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest a port URL may live (createPortUrl's ttlSeconds).</summary>
    public TimeSpan MaxUrlLifetime { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>A bad proxy setting stops the silo at start, naming it.</summary>
public sealed partial class PortForwardingOptionsValidator : IValidateOptions<PortForwardingOptions>
{
    public ValidateOptionsResult Validate(string? name, PortForwardingOptions options)
    {
        var errors = new List<string>();
        if (options.Domain is { } domain && !DnsName().IsMatch(domain))
            errors.Add($"{PortForwardingOptions.Section}:Domain must be a DNS name such as sandboxes.example.com, without scheme or port (got '{domain}').");
        foreach (var (key, value) in new[] { ("PublicUrl", options.PublicUrl), ("SiloUrl", options.SiloUrl) })
        {
            if (value is not null && !(Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Query.Length == 0))
                errors.Add($"{PortForwardingOptions.Section}:{key} must be an absolute http or https URL without a query (got '{value}').");
        }
        if (options.IdleTimeout < TimeSpan.FromSeconds(1))
            errors.Add($"{PortForwardingOptions.Section}:IdleTimeout must be at least 1 second (got {options.IdleTimeout}).");
        if (options.ConnectTimeout < TimeSpan.FromMilliseconds(100) || options.ConnectTimeout > TimeSpan.FromMinutes(5))
            errors.Add($"{PortForwardingOptions.Section}:ConnectTimeout must be between 100 ms and 5 minutes (got {options.ConnectTimeout}).");
        if (options.MaxUrlLifetime < TimeSpan.FromMinutes(1) || options.MaxUrlLifetime > TimeSpan.FromDays(365))
            errors.Add($"{PortForwardingOptions.Section}:MaxUrlLifetime must be between 1 minute and 365 days (got {options.MaxUrlLifetime}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    [GeneratedRegex(@"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$", RegexOptions.IgnoreCase)]
    private static partial Regex DnsName();
}
