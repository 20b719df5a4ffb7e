using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Wrenn.Silo.Ports;

/// <summary>
/// The HTTP clients port forwarding sends through (Yarp's forwarder takes an invoker per request):
/// one for guests and one for other silos' APIs, each with its own connection pools, configured as
/// a proxy needs (no proxy, redirects, decompression or cookies of its own), request bodies flushed
/// to the connection as they stream.
/// <para>
/// Guest connections are pooled by a name made of the sandbox and its network path
/// (<see cref="GuestRoute.PathKey"/>), never by address: a slot's address goes to another sandbox
/// after a destroy, and a resumed sandbox gets a new path, so a kept connection never leads to the
/// wrong guest or to a namespace that is gone. The connection itself opens to the address the request
/// carries (<see cref="GuestEndpointKey"/>).
/// </para>
/// </summary>
public sealed class PortConnections : IDisposable
{
    /// <summary>Where a guest request's connection opens (its URL's host is only the pool's name).</summary>
    public static readonly HttpRequestOptionsKey<IPEndPoint> GuestEndpointKey = new("wrenn.port.guest-endpoint");

    /// <summary>Set on a request whose body the client streams: it is flushed to the connection piece by piece (<see cref="FlushingContent"/>).</summary>
    public static readonly HttpRequestOptionsKey<bool> StreamedBodyKey = new("wrenn.port.streamed-body");

    public PortConnections(IOptions<PortForwardingOptions> options)
    {
        var guests = Handler(options.Value);
        guests.ConnectCallback = ConnectToGuestAsync;
        Guests = new HttpMessageInvoker(new FlushingBodies(guests), disposeHandler: true);
        Silos = new HttpMessageInvoker(new FlushingBodies(Handler(options.Value)), disposeHandler: true);
    }

    public HttpMessageInvoker Guests { get; }

    public HttpMessageInvoker Silos { get; }

    /// <summary>The URL host naming a guest's pool: the sandbox and its network path (a valid DNS-style name; it is never resolved).</summary>
    public static string GuestPoolName(string sandboxId, string pathKey) => $"p{pathKey}.{sandboxId}";

    private static SocketsHttpHandler Handler(PortForwardingOptions options) => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        // The client's trace headers pass through as they came; none of ours are added.
        ActivityHeadersPropagator = null,
        ConnectTimeout = options.ConnectTimeout,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        EnableMultipleHttp2Connections = true,
    };

    private static async ValueTask<Stream> ConnectToGuestAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        if (!context.InitialRequestMessage.Options.TryGetValue(GuestEndpointKey, out var endpoint))
            throw new InvalidOperationException($"A guest request for {context.DnsEndPoint} carries no guest address.");
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Wraps a streamed request body once Yarp handed the request over (Yarp refuses a replaced body
    /// in a transformer: it tracks the copy through its own content object, which still does the copying).
    /// </summary>
    private sealed class FlushingBodies(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Content is { } body && request.Options.TryGetValue(StreamedBodyKey, out var streamed) && streamed)
                request.Content = new FlushingContent(body);
            return base.SendAsync(request, cancellationToken);
        }
    }

    public void Dispose()
    {
        Guests.Dispose();
        Silos.Dispose();
    }
}
