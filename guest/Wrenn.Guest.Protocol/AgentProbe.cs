using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Protocol;

/// <summary>What answers at an agent address.</summary>
public enum AgentKind
{
    /// <summary>Nothing accepts connections (yet): a guest still booting or restoring, or no VM.</summary>
    NotAnswering,

    /// <summary>The gRPC agent (HTTP/2): <see cref="AgentProbeResult.ProtocolVersion"/> and capabilities are known.</summary>
    Grpc,

    /// <summary>
    /// The Connect agent that came before the gRPC one (HTTP/1.1, Connect JSON). Snapshots
    /// frozen with it hold it in their memory; the silo cannot drive it.
    /// </summary>
    Connect,

    /// <summary>Something accepts connections but speaks neither protocol.</summary>
    Unrecognized,
}

/// <summary>The answer of <see cref="AgentProbe.ProbeAsync"/>.</summary>
public sealed record AgentProbeResult(AgentKind Kind, string Detail, int ProtocolVersion = 0, IReadOnlyList<string>? Capabilities = null, string? Version = null)
{
    public IReadOnlyList<string> Capabilities { get; init; } = Capabilities ?? [];

    public bool Has(string capability) => Capabilities.Contains(capability, StringComparer.Ordinal);

    public override string ToString() => Kind switch
    {
        AgentKind.Grpc => $"gRPC agent (protocol {ProtocolVersion}, capabilities {string.Join(", ", Capabilities)}; build {Version})",
        AgentKind.Connect => $"the old Connect agent (build {Version})",
        _ => Detail,
    };
}

/// <summary>
/// Tells, against an agent address, the gRPC agent (with its protocol version and capabilities)
/// from the old Connect agent (which every snapshot taken before the switch holds) from nothing
/// answering yet. Meant for after a restore, before the silo relies on the agent: a snapshot with
/// the old agent is refused with a clear message instead of waiting on calls that cannot succeed.
/// </summary>
public static class AgentProbe
{
    /// <summary>The Connect agent's health procedure, as it served it (POST, JSON).</summary>
    public const string ConnectHealthPath = "/wrenn.guest.v1.SystemService/Health";

    /// <param name="timeout">For each step (connect, the gRPC call, the Connect call).</param>
    public static async Task<AgentProbeResult> ProbeAsync(IPAddress address, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var endpoint = $"{address}:{port}";
        if (await ConnectFailureAsync(address, port, timeout, cancellationToken) is { } failure)
            return new AgentProbeResult(AgentKind.NotAnswering, $"Nothing answers at {endpoint} yet ({failure}).");

        string grpcFailure;
        try
        {
            var health = await GrpcHealthAsync(address, port, timeout, cancellationToken);
            return new AgentProbeResult(AgentKind.Grpc, $"gRPC agent at {endpoint}", health.ProtocolVersion, [.. health.Capabilities], health.Version);
        }
        catch (RpcException e)
        {
            grpcFailure = $"{e.StatusCode}: {e.Status.Detail}";
        }

        try
        {
            if (await ConnectHealthVersionAsync(address, port, timeout, cancellationToken) is { } version)
                return new AgentProbeResult(AgentKind.Connect, $"the old Connect agent at {endpoint}", Version: version);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException && !cancellationToken.IsCancellationRequested)
        {
            return new AgentProbeResult(AgentKind.Unrecognized, $"Something at {endpoint} accepts connections but answers neither gRPC ({grpcFailure}) nor Connect ({e.Message}).");
        }
        return new AgentProbeResult(AgentKind.Unrecognized, $"Something at {endpoint} accepts connections but answers neither gRPC ({grpcFailure}) nor Connect health.");
    }

    private static async Task<string?> ConnectFailureAsync(IPAddress address, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(address, port, limit.Token);
            return null;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode.ToString();
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"no connection within {timeout.TotalMilliseconds:0} ms";
        }
    }

    private static async Task<HealthResponse> GrpcHealthAsync(IPAddress address, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress($"http://{address}:{port}/", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { ConnectTimeout = timeout, UseProxy = false },
            DisposeHttpClient = true,
        });
        var client = new SystemService.SystemServiceClient(channel);
        using var call = client.HealthAsync(new HealthRequest(), deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken);
        return await call.ResponseAsync;
    }

    /// <summary>The version the Connect agent reports, or null if the answer is not its health.</summary>
    private static async Task<string?> ConnectHealthVersionAsync(IPAddress address, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = timeout, UseProxy = false }) { Timeout = timeout };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://{address}:{port}{ConnectHealthPath}")
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new StringContent("{}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Connect-Protocol-Version", "1");
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
            return null;
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return body.RootElement.ValueKind == JsonValueKind.Object && body.RootElement.TryGetProperty("version", out var version)
            ? version.GetString()
            : null;
    }
}
