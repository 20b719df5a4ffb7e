using Microsoft.Extensions.Options;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Guest.Protocol;
using Wrenn.Silo.Data;
using Wrenn.Silo.Sandboxes;

namespace Wrenn.Silo.Ports;

/// <summary>A port URL as made: where it leads, and until when.</summary>
public sealed record PortUrl(Uri Url, DateTimeOffset ExpiresAt);

/// <summary>
/// Makes port URLs (createPortUrl): <c>{base}/p/{token}/</c>, where the base is the configured public
/// URL or the address the request came to. Anything appended to it reaches that path in the guest.
/// </summary>
public sealed class PortUrls(PortTokens tokens, SandboxService sandboxes, AuditLog audit, IOptions<PortForwardingOptions> options)
{
    public async Task<PortUrl> CreateAsync(Caller caller, string sandboxId, int port, int ttlSeconds, Uri? origin, CancellationToken cancellationToken)
    {
        if (port is < 1 or > 65535)
            throw new GrainException(ErrorCodes.InvalidArgument, $"port must be between 1 and 65535 (got {port}).");
        if (port == AgentEndpoint.DefaultPort)
            throw new GrainException(ErrorCodes.InvalidArgument, $"Port {port} is the Wrenn agent's; it is not forwarded.");
        var longest = options.Value.MaxUrlLifetime;
        if (ttlSeconds < 1 || ttlSeconds > longest.TotalSeconds)
            throw new GrainException(ErrorCodes.InvalidArgument, $"ttlSeconds must be between 1 and {longest.TotalSeconds:0} (got {ttlSeconds}).");
        var sandbox = await sandboxes.Sandbox(sandboxId).GetAsync(caller);
        if (sandbox.State is SandboxState.Destroyed or SandboxState.Failed or SandboxState.Lost)
            throw new GrainException(ErrorCodes.FailedPrecondition, $"Sandbox {sandbox.Id} is {sandbox.State.ToString().ToLowerInvariant()}: its ports cannot be reached any more.");
        var root = (options.Value.PublicUrl is { } configured ? new Uri(configured) : origin)
            ?? throw new GrainException(ErrorCodes.FailedPrecondition, $"No address to make the URL on: set {PortForwardingOptions.Section}:PublicUrl.");
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + ttlSeconds);
        var token = tokens.Sign(new PortGrant(sandbox.Id, port, expiresAt));
        var url = new Uri(WithSlash(root), $"{PortRequest.TokenSegment}/{token}/");
        // A port URL is a credential that leaves the team's hands: who made which one is kept.
        await audit.RecordAsync(caller, "sandbox.port-url", sandbox.Id, new { port, expiresAt }, cancellationToken);
        return new PortUrl(url, expiresAt);
    }

    internal static Uri WithSlash(Uri url) => url.AbsolutePath.EndsWith('/') ? url : new Uri(url + "/");
}
