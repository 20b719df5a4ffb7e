using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace Wrenn.Silo.Ports;

/// <summary>
/// Where one forwarded request goes and what it must not carry. Yarp copies the request (method,
/// headers with the client's Host, the body as a stream) and the response; this sets the destination,
/// marks a request body to be flushed as it streams (<see cref="FlushingContent"/>), and takes out Wrenn's
/// credentials: a Wrenn API key in Authorization and the port URL's token, which the browser repeats
/// in Referer. Responses get a Via entry naming this silo, and redirects to the guest's own paths get
/// the prefix the client used.
/// </summary>
/// <param name="destination">The guest's (or the host silo's) URL for this request.</param>
/// <param name="guestEndpoint">For the guest: the address and port the connection is opened to (the URL's host only keys the connection pool).</param>
/// <param name="hopFrom">For another silo: this silo's name, sent as <see cref="HopHeader"/>.</param>
/// <param name="request">The request as it arrived.</param>
/// <param name="siloName">This silo, for Via.</param>
/// <param name="outermost">The silo the client talks to (it alone rewrites redirects: only it knows the client's prefix).</param>
internal sealed class PortTransformer(Uri destination, IPEndPoint? guestEndpoint, string? hopFrom, PortRequest request, string siloName, bool outermost) : HttpTransformer
{
    /// <summary>Set on a request one silo forwards to the sandbox's host: that silo forwards no further.</summary>
    public const string HopHeader = "Wrenn-Port-Hop";

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        proxyRequest.RequestUri = destination;
        if (proxyRequest.Content is not null && httpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
            proxyRequest.Options.Set(PortConnections.StreamedBodyKey, true);
        if (guestEndpoint is not null)
            proxyRequest.Options.Set(PortConnections.GuestEndpointKey, guestEndpoint);
        if (PortRequest.ApiKeyOf(httpContext.Request) is not null)
            proxyRequest.Headers.Authorization = null;
        proxyRequest.Headers.Remove(HopHeader);
        if (hopFrom is not null)
            proxyRequest.Headers.TryAddWithoutValidation(HopHeader, hopFrom);
        if (request.Token is { } token && proxyRequest.Headers.Referrer is { } referrer && referrer.OriginalString.Contains(token, StringComparison.Ordinal))
        {
            // The page's own address, as the guest would have served it: the token's segment taken out.
            proxyRequest.Headers.Remove(HeaderNames.Referer);
            proxyRequest.Headers.TryAddWithoutValidation(HeaderNames.Referer, referrer.OriginalString.Replace($"/{PortRequest.TokenSegment}/{token}", "", StringComparison.Ordinal));
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var proxied = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        if (proxyResponse is null)
            return proxied;
        httpContext.Response.Headers.Append(HeaderNames.Via, $"{proxyResponse.Version.Major}.{proxyResponse.Version.Minor} {siloName}");
        if (outermost && request.Prefix.HasValue && httpContext.Response.Headers.Location.ToString() is { Length: > 0 } location
            && WithPrefix(location, httpContext.Request.Host) is { } rewritten)
            httpContext.Response.Headers.Location = rewritten;
        return proxied;
    }

    /// <summary>
    /// A redirect to a path of the guest's (<c>/login</c>, or an absolute URL on the host the client
    /// used) points at that path under the client's prefix; redirects elsewhere stay as they are.
    /// </summary>
    private string? WithPrefix(string location, HostString host)
    {
        string path;
        if (location.StartsWith('/') && !location.StartsWith("//", StringComparison.Ordinal))
            path = location;
        else if (Uri.TryCreate(location, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https"
                 && string.Equals(absolute.Authority, host.Value, StringComparison.OrdinalIgnoreCase))
            path = absolute.PathAndQuery + absolute.Fragment;
        else
            return null;
        var prefix = request.Prefix.Value!;
        return path.StartsWith(prefix + "/", StringComparison.Ordinal) || path == prefix ? null : prefix + path;
    }
}
