using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Wrenn.Silo.Tests.Api;

/// <summary>One POST a receiver got: its headers of interest and its body as sent.</summary>
public sealed record ReceivedWebhook(string Path, string? Signature, string? Delivery, string Body, int AnsweredWith);

/// <summary>
/// The test's own webhook receiver on loopback (HttpListener): <c>/ok</c> answers 204 at once,
/// <c>/flaky</c> answers 500 to its first two requests and 200 after, so the sender must retry.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _serving;
    private int _flakyRequests;

    public WebhookReceiver()
    {
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public string Url(string path) => $"http://127.0.0.1:{Port}/{path}";

    public ConcurrentQueue<ReceivedWebhook> Received { get; } = new();

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }
            using var reader = new StreamReader(context.Request.InputStream);
            var body = await reader.ReadToEndAsync();
            var path = context.Request.Url!.AbsolutePath.Trim('/');
            var status = path == "flaky" && Interlocked.Increment(ref _flakyRequests) <= 2 ? 500 : path == "ok" ? 204 : 200;
            Received.Enqueue(new ReceivedWebhook(path, context.Request.Headers["Wrenn-Signature"], context.Request.Headers["Wrenn-Delivery"], body, status));
            context.Response.StatusCode = status;
            context.Response.Close();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _serving;
    }
}
