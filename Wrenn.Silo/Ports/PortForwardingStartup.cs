using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Wrenn.Silo.Cluster;

namespace Wrenn.Silo.Ports;

/// <summary>
/// At start, once the database is up: the cluster's port URL key (made by the first silo). Once the
/// API serves (its port is known only then): where this silo serves it, published for the other silos.
/// </summary>
public sealed partial class PortForwardingStartup(
    PortStore store,
    PortTokens tokens,
    IServer server,
    ClusterHosts hosts,
    ILocalSiloDetails silo,
    IOptions<PortForwardingOptions> options,
    ILogger<PortForwardingStartup> logger) : IHostedLifecycleService
{
    public async Task StartAsync(CancellationToken cancellationToken) => tokens.UseKey(await store.SigningKeyAsync(cancellationToken));

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        var url = SiloUrl();
        await store.PublishApiAsync(hosts.Local, url, cancellationToken);
        LogPublished(hosts.Local, url);
    }

    /// <summary>The configured URL, or the address the API took, with the cluster's advertised address for a wildcard.</summary>
    private Uri SiloUrl()
    {
        if (options.Value.SiloUrl is { } configured)
            return PortUrls.WithSlash(new Uri(configured));
        var bound = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The API serves on no address: other silos cannot forward to this one.");
        var url = new UriBuilder(bound.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal));
        if (IPAddress.TryParse(url.Host.Trim('[', ']'), out var address) && (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)))
            url.Host = silo.SiloAddress.Endpoint.Address.ToString();
        url.Path = "/";
        return url.Uri;
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Port forwarding: host {Host} serves its API to other silos at {Url}")]
    private partial void LogPublished(string host, Uri url);
}
