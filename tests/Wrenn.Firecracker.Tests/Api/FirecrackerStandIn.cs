using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Wrenn.Firecracker.Tests.Api;

/// <summary>
/// A STAND-IN for Firecracker (no Firecracker binary can be had on this machine): an HTTP server on
/// a Unix socket that checks every request against the published API and answers as the API says —
/// 204 for a good request, 400 with {"fault_message"} for a bad one. It records what it received.
/// </summary>
public sealed class FirecrackerStandIn : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<(string Method, string Path, JsonNode? Body)> _received = [];

    private FirecrackerStandIn(WebApplication app, string socket)
    {
        _app = app;
        Socket = socket;
    }

    public string Socket { get; }

    /// <summary>A fault to answer for requests to this path, as Firecracker would word it.</summary>
    public Dictionary<string, string> Faults { get; } = [];

    public IReadOnlyList<(string Method, string Path, JsonNode? Body)> Received
    {
        get
        {
            lock (_received)
                return [.. _received];
        }
    }

    public static async Task<FirecrackerStandIn> StartAsync(SwaggerContract contract, string socket)
    {
        File.Delete(socket);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socket));
        var app = builder.Build();
        var standIn = new FirecrackerStandIn(app, socket);
        app.Run(async context =>
        {
            var request = context.Request;
            JsonNode? body = null;
            if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
                body = await JsonNode.ParseAsync(request.Body);
            lock (standIn._received)
                standIn._received.Add((request.Method, request.Path.Value!, body));
            var problems = contract.Check(request.Method, request.Path.Value!, body);
            if (problems.Count > 0 || standIn.Faults.TryGetValue(request.Path.Value!, out var fault))
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsJsonAsync(new { fault_message = problems.Count > 0 ? string.Join("; ", problems) : standIn.Faults[request.Path.Value!] });
                return;
            }
            if (HttpMethods.IsGet(request.Method))
            {
                await context.Response.WriteAsJsonAsync(new { app_name = "Firecracker", id = "stand-in", state = "Running", vmm_version = "stand-in" });
                return;
            }
            context.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        await app.StartAsync();
        return standIn;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        File.Delete(Socket);
    }
}
