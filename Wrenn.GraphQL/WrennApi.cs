using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wrenn.GraphQL.Backend;
using Wrenn.GraphQL.Engine.Execution;
using Wrenn.GraphQL.Schema;
using Wrenn.GraphQL.Transport;

namespace Wrenn.GraphQL;

/// <summary>Maps Wrenn's API onto an ASP.NET Core app: /graphql (HTTP and WebSocket), /files, /ui, /schema.graphql.</summary>
public static class WrennApi
{
    public static GraphQLSchema Schema { get; } = WrennApiSchema.Build();

    public static WebApplication MapWrennApi(this WebApplication app, IWrennBackend backend, TimeSpan? webSocketInitTimeout = null)
    {
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        var executor = new Executor();
        var http = new GraphQLHttpEndpoint(Schema, executor, backend, loggers.CreateLogger("Wrenn.GraphQL.Http"));
        var files = new FileEndpoints(backend);
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });

        app.Map("/graphql", async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                await http.HandleAsync(context);
                return;
            }
            var wantsProtocol = context.WebSockets.WebSocketRequestedProtocols.Contains(GraphQLWebSocketSession.Protocol);
            using var socket = await context.WebSockets.AcceptWebSocketAsync(wantsProtocol ? GraphQLWebSocketSession.Protocol : null);
            if (!wantsProtocol)
            {
                await socket.CloseOutputAsync((System.Net.WebSockets.WebSocketCloseStatus)4406, "Subprotocol not acceptable", CancellationToken.None);
                return;
            }
            await new GraphQLWebSocketSession(socket, Schema, executor, backend, webSocketInitTimeout ?? TimeSpan.FromSeconds(10),
                loggers.CreateLogger("Wrenn.GraphQL.WebSocket")).RunAsync(context.RequestAborted);
        });
        app.MapPut("/files/{sandboxId}", (HttpContext context, string sandboxId) => files.UploadAsync(context, sandboxId));
        app.MapGet("/files/{sandboxId}", (HttpContext context, string sandboxId) => files.DownloadAsync(context, sandboxId));
        app.MapGet("/schema.graphql", () => Results.Text(SchemaPrinter.Print(Schema) + "\n", "text/plain; charset=utf-8"));
        app.MapGet("/ui", () => Console("index.html", "text/html; charset=utf-8"));
        app.MapGet("/ui/{file}", (string file) => Console(file, file.EndsWith(".js", StringComparison.Ordinal) ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8"));
        return app;
    }

    private static IResult Console(string file, string contentType)
    {
        var stream = typeof(WrennApi).Assembly.GetManifestResourceStream($"console/{file}");
        return stream is null ? Results.NotFound() : Results.Stream(stream, contentType);
    }
}
