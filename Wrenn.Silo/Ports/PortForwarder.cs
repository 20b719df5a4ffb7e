using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Guest.Protocol;
using Wrenn.Silo.Cluster;
using Wrenn.Silo.Data;
using Wrenn.Silo.Hosting;
using Wrenn.Silo.Sandboxes;
using Yarp.ReverseProxy.Forwarder;

namespace Wrenn.Silo.Ports;

/// <summary>
/// Forwards a request for a sandbox's port, in order: the port (400 outside 1–65535), who asks (401
/// without a key or a valid port URL), the sandbox (404 when it is not the caller's team's or is gone,
/// 503 while paused, unless autoResume wakes it), then Yarp's forwarder to the guest through the sandbox's network path, or to the
/// API of the silo that hosts it, which does the same there (502 naming the port when nothing listens).
/// </summary>
public sealed partial class PortForwarder(
    IHttpForwarder forwarder,
    PortConnections connections,
    PortTokens tokens,
    SiloApis silos,
    Teams teams,
    SandboxService sandboxes,
    ClusterHosts hosts,
    SandboxActivity activity,
    IOptions<PortForwardingOptions> options,
    ILogger<PortForwarder> logger)
{
    /// <summary>A request one silo sends to another carries a fresh token this long (long enough for the clocks of two silos to differ).</summary>
    private static readonly TimeSpan HopTokenLifetime = TimeSpan.FromMinutes(5);

    private ForwarderRequestConfig RequestConfig => new()
    {
        ActivityTimeout = options.Value.IdleTimeout,
        Version = HttpVersion.Version11,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
    };

    public async Task ForwardAsync(HttpContext http, PortRequest request)
    {
        int? port = null;
        if (request.Port is { } text)
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed is < 1 or > 65535)
            {
                await AnswerAsync(http, StatusCodes.Status400BadRequest, $"'{text}' is not a port: a port is a number from 1 to 65535.");
                return;
            }
            port = parsed;
        }

        Caller caller;
        var sandboxId = request.SandboxId;
        if (request.Token is { } token)
        {
            var check = tokens.Verify(token, DateTimeOffset.UtcNow);
            if (check.Grant is not { } grant)
            {
                await AnswerAsync(http, StatusCodes.Status401Unauthorized, check.Problem!);
                return;
            }
            if ((sandboxId is not null && sandboxId != grant.SandboxId) || (port is not null && port != grant.Port))
            {
                await AnswerAsync(http, StatusCodes.Status401Unauthorized, $"This port URL is for port {grant.Port} of sandbox {grant.SandboxId}, not for port {port} of {sandboxId}.");
                return;
            }
            // The token is the authority: a silo signed it for a caller who could see this sandbox.
            (caller, sandboxId, port) = (Caller.System, grant.SandboxId, grant.Port);
        }
        else if (request.ApiKey is { } key)
        {
            if (await teams.AuthenticateAsync(key, http.RequestAborted) is not { } found)
            {
                await AnswerAsync(http, StatusCodes.Status401Unauthorized, "Unknown or revoked API key.");
                return;
            }
            caller = found;
        }
        else
        {
            await AnswerAsync(http, StatusCodes.Status401Unauthorized,
                "Send the team's API key (Authorization: Bearer wrn_…), or open a port URL (createPortUrl), to reach a sandbox's port.");
            return;
        }
        if (port == AgentEndpoint.DefaultPort)
        {
            await AnswerAsync(http, StatusCodes.Status403Forbidden, $"Port {port} is the Wrenn agent's; it is not forwarded.");
            return;
        }

        GuestRoute route;
        try
        {
            route = await sandboxes.Sandbox(sandboxId!).GetGuestRouteAsync(caller);
        }
        catch (GrainException e) when (e.Code is ErrorCodes.NotFound)
        {
            await AnswerAsync(http, StatusCodes.Status404NotFound, e.Message);
            return;
        }
        catch (GrainException e) when (e.Code is ErrorCodes.Unavailable)
        {
            await AnswerAsync(http, StatusCodes.Status503ServiceUnavailable, e.Message);
            return;
        }
        catch (GrainException e) when (e.Code is ErrorCodes.ResourceExhausted)
        {
            // Waking it (autoResume) would pass the team's quota: it stays paused.
            await AnswerAsync(http, StatusCodes.Status429TooManyRequests, e.Message);
            return;
        }
        catch (GrainException e) when (e.Code is ErrorCodes.FailedPrecondition or ErrorCodes.Internal)
        {
            await AnswerAsync(http, StatusCodes.Status503ServiceUnavailable, e.Message);
            return;
        }
        switch (route.State)
        {
            case SandboxState.Paused:
                // With autoResume the route's call woke it; so this one has none.
                await AnswerAsync(http, StatusCodes.Status503ServiceUnavailable,
                    $"Sandbox {sandboxId} is paused: resume it (resumeSandbox), or turn on autoResume (updateSandboxLifecycle) so that requests wake it, to reach port {port}.");
                return;
            case SandboxState.Creating:
                await AnswerAsync(http, StatusCodes.Status503ServiceUnavailable, $"Sandbox {sandboxId} is still being created; try again in a moment.");
                return;
            case SandboxState.Destroyed or SandboxState.Failed or SandboxState.Lost:
                await AnswerAsync(http, StatusCodes.Status404NotFound, $"Sandbox {sandboxId} is {route.State.ToString().ToLowerInvariant()}: nothing of it can be reached any more.");
                return;
        }

        // A forwarded body is the guest's business: Kestrel's 30 MB cap and its minimum data rate (which
        // ends an upload that pauses) do not apply; the idle timeout still does. Yarp lifts them for gRPC only.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = null;
        if (http.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
            rate.MinDataRate = null;

        var hop = http.Request.Headers[PortTransformer.HopHeader].ToString() is { Length: > 0 } from ? from : null;
        if (route.Host != hosts.Local)
        {
            if (hop is not null)
            {
                // Sandboxes never move, so the sender asked the wrong host: say so rather than pass it on.
                await AnswerAsync(http, StatusCodes.Status502BadGateway, $"Silo {hop} sent a request for sandbox {sandboxId} here, but its host is {route.Host}.");
                return;
            }
            await ToSiloAsync(http, request, route, sandboxId!, port!.Value);
            return;
        }
        await ToGuestAsync(http, request, route, sandboxId!, port!.Value, outermost: hop is null);
    }

    private async Task ToGuestAsync(HttpContext http, PortRequest request, GuestRoute route, string sandboxId, int port, bool outermost)
    {
        var endpoint = new IPEndPoint(IPAddress.Parse(route.Address!), port);
        var destination = RequestUtilities.MakeDestinationAddress($"http://{PortConnections.GuestPoolName(sandboxId, route.PathKey!)}:{port}", request.Rest, http.Request.QueryString);
        var transformer = new PortTransformer(destination, endpoint, null, request, hosts.Local, outermost);
        // Open while the request (or its upgraded connection) lasts: the sandbox is not idle meanwhile. Here,
        // on its host: the sandbox's grain reads the same counters.
        using var busy = activity.Open(sandboxId);
        var error = await forwarder.SendAsync(http, destination.GetLeftPart(UriPartial.Authority), connections.Guests, RequestConfig, transformer, http.RequestAborted);
        if (error != ForwarderError.None)
            await ExplainAsync(http, error, $"port {port} of sandbox {sandboxId}", NothingListens(port, sandboxId));
    }

    private async Task ToSiloAsync(HttpContext http, PortRequest request, GuestRoute route, string sandboxId, int port)
    {
        var api = await silos.FindAsync(route.Host, http.RequestAborted);
        if (api is null)
        {
            await AnswerAsync(http, StatusCodes.Status503ServiceUnavailable, $"Sandbox {sandboxId} runs on host {route.Host}, whose silo has not published its API address yet; retry later.");
            return;
        }
        // The host silo takes a token of this silo's making (every silo shares the key): the caller's key never crosses.
        var token = tokens.Sign(new PortGrant(sandboxId, port, DateTimeOffset.UtcNow + HopTokenLifetime));
        var destination = RequestUtilities.MakeDestinationAddress(new Uri(api, $"{PortRequest.TokenSegment}/{token}").ToString(), request.Rest, http.Request.QueryString);
        var transformer = new PortTransformer(destination, null, hosts.Local, request, hosts.Local, outermost: true);
        var error = await forwarder.SendAsync(http, destination.GetLeftPart(UriPartial.Authority), connections.Silos, RequestConfig, transformer, http.RequestAborted);
        if (error != ForwarderError.None)
        {
            if (error is ForwarderError.Request or ForwarderError.RequestTimedOut)
                silos.Forget(route.Host);
            await ExplainAsync(http, error, $"host {route.Host}'s silo at {api.GetLeftPart(UriPartial.Authority)}",
                $"Sandbox {sandboxId} runs on host {route.Host}, whose silo at {api.GetLeftPart(UriPartial.Authority)} did not answer; retry later.");
        }
    }

    private static string NothingListens(int port, string sandboxId) =>
        $"Nothing is listening on port {port} in sandbox {sandboxId}: start a server there on 0.0.0.0:{port} (one bound to 127.0.0.1 cannot be reached from outside the guest).";

    /// <summary>What went wrong, when nothing of the response went out yet; otherwise the client sees the connection end.</summary>
    private async Task ExplainAsync(HttpContext http, ForwarderError error, string target, string refused)
    {
        var exception = http.GetForwarderErrorFeature()?.Exception;
        LogForwardFailed(exception, error, target);
        if (http.Response.HasStarted || error is ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled)
            return;
        if (error is ForwarderError.RequestTimedOut || Find<TimeoutException>(exception) is not null)
            await AnswerAsync(http, StatusCodes.Status504GatewayTimeout, $"{Capitalized(target)} did not answer within {options.Value.ConnectTimeout.TotalSeconds:0.#} s.");
        else if (Find<SocketException>(exception) is { SocketErrorCode: SocketError.ConnectionRefused })
            await AnswerAsync(http, StatusCodes.Status502BadGateway, refused);
        else
            await AnswerAsync(http, StatusCodes.Status502BadGateway, $"{Capitalized(target)} could not be reached: {exception?.Message ?? error.ToString()}");
    }

    private static string Capitalized(string text) => char.ToUpperInvariant(text[0]) + text[1..];

    private static T? Find<T>(Exception? exception) where T : Exception
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is T found)
                return found;
        }
        return null;
    }

    /// <summary>Wrenn's own answers: plain text that names what was wrong.</summary>
    internal static async Task AnswerAsync(HttpContext http, int status, string message)
    {
        http.Response.Clear();
        http.Response.StatusCode = status;
        http.Response.ContentType = "text/plain; charset=utf-8";
        http.Response.Headers.CacheControl = "no-store";
        if (status == StatusCodes.Status401Unauthorized)
            http.Response.Headers.WWWAuthenticate = "Bearer realm=\"wrenn\"";
        await http.Response.WriteAsync(message + "\n", http.RequestAborted);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Forwarding to {Target} failed ({Error})")]
    private partial void LogForwardFailed(Exception? exception, ForwarderError error, string target);
}
