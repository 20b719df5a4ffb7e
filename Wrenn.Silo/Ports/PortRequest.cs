using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Wrenn.Silo.Data;

namespace Wrenn.Silo.Ports;

/// <summary>
/// A request for a port of a sandbox as it arrived, in one of three forms:
/// <list type="bullet">
/// <item><c>/sandboxes/{id}/ports/{port}/…</c> with the team's API key (<c>Authorization: Bearer wrn_…</c>);</item>
/// <item><c>/p/{token}/…</c>, a port URL: the token names the sandbox and the port;</item>
/// <item>host <c>{port}-{id}.{domain}</c> at any path, with the key, or with a port URL's <c>/p/{token}</c> first.</item>
/// </list>
/// </summary>
/// <param name="SandboxId">As the path or host names it; null when only the token names it.</param>
/// <param name="Port">The port as written; null when only the token names it.</param>
/// <param name="Prefix">The part of the path that addressed the port (it is not forwarded; redirects to the guest's own paths get it back).</param>
/// <param name="Rest">The path the guest sees (at least <c>/</c>).</param>
/// <param name="ApiKey">A Wrenn API key from the Authorization header.</param>
/// <param name="Token">A port URL token from the path.</param>
public sealed partial record PortRequest(string? SandboxId, string? Port, PathString Prefix, PathString Rest, string? ApiKey, string? Token)
{
    /// <summary>The first segment of a port URL's path; the token follows.</summary>
    public const string TokenSegment = "p";

    /// <summary><c>/sandboxes/{sandboxId}/ports/{port}/…</c>.</summary>
    public static PortRequest FromPath(HttpContext http, string sandboxId, string port)
    {
        var prefix = new PathString($"/sandboxes/{sandboxId}/ports/{port}");
        http.Request.Path.StartsWithSegments(prefix, StringComparison.Ordinal, out var rest);
        return new PortRequest(sandboxId, port, prefix, OrRoot(rest), ApiKeyOf(http.Request), null);
    }

    /// <summary><c>/p/{token}/…</c>: the token alone says where.</summary>
    public static PortRequest FromToken(HttpContext http, string token)
    {
        var prefix = new PathString($"/{TokenSegment}/{token}");
        http.Request.Path.StartsWithSegments(prefix, StringComparison.Ordinal, out var rest);
        return new PortRequest(null, null, prefix, OrRoot(rest), ApiKeyOf(http.Request), token);
    }

    /// <summary>
    /// <c>{port}-{sandboxId}.{domain}</c>, or null when the request's host is not such a name (the API's
    /// own name may live under the same domain). A key in the header wins; without one a leading
    /// <c>/p/{token}</c> is the credential.
    /// </summary>
    public static PortRequest? FromHost(HttpContext http, string domain)
    {
        var host = http.Request.Host.Host;
        if (host.Length <= domain.Length + 1 || !host.EndsWith(domain, StringComparison.OrdinalIgnoreCase) || host[^(domain.Length + 1)] != '.')
            return null;
        var label = HostLabel().Match(host[..^(domain.Length + 1)]);
        if (!label.Success)
            return null;
        var (sandboxId, port) = (label.Groups["id"].Value.ToLowerInvariant(), label.Groups["port"].Value);
        var key = ApiKeyOf(http.Request);
        var path = http.Request.Path;
        if (key is null && path.StartsWithSegments($"/{TokenSegment}", StringComparison.Ordinal, out var afterSegment)
            && afterSegment.Value is { Length: > 1 } tail)
        {
            var token = tail[1..].Split('/', 2)[0];
            var prefix = new PathString($"/{TokenSegment}/{token}");
            path.StartsWithSegments(prefix, StringComparison.Ordinal, out var rest);
            return new PortRequest(sandboxId, port, prefix, OrRoot(rest), null, token);
        }
        return new PortRequest(sandboxId, port, PathString.Empty, OrRoot(path), key, null);
    }

    /// <summary>A Wrenn key (<c>Bearer wrn_…</c>); any other Authorization belongs to the guest's app and passes through.</summary>
    public static string? ApiKeyOf(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return null;
        var key = authorization[scheme.Length..].Trim();
        return key.StartsWith(Teams.KeyPrefix, StringComparison.Ordinal) ? key : null;
    }

    private static PathString OrRoot(PathString rest) => rest.HasValue ? rest : new PathString("/");

    [GeneratedRegex(@"^(?<port>[^-.]+)-(?<id>sb-[0-9a-fA-F-]{36})$")]
    private static partial Regex HostLabel();
}
