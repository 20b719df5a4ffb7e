using GraphQL;
using GraphQL.Execution;
using GraphQL.Types;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wrenn.GraphQL.Backend;
using Wrenn.GraphQL.Execution;
using Wrenn.GraphQL.RateLimiting;
using Wrenn.GraphQL.Schema;
using Wrenn.GraphQL.Transport;

namespace Wrenn.GraphQL;

/// <summary>Wrenn's API in an ASP.NET Core app: /graphql (HTTP and WebSocket), /files, /ui, /schema.graphql.</summary>
public static class WrennApi
{
    /// <summary>
    /// The schema (built once, when first resolved), GraphQL.NET's executer with Wrenn's limits and
    /// errors, the rate limits per API key, and the options (<c>Wrenn:GraphQL</c> and <c>Wrenn:RateLimits</c>
    /// of <paramref name="configuration"/>, validated at start).
    /// The app registers its <see cref="IWrennBackend"/>.
    /// </summary>
    public static IServiceCollection AddWrennApi(this IServiceCollection services, IConfiguration? configuration = null, Action<WrennApiOptions>? configure = null)
    {
        var options = services.AddOptions<WrennApiOptions>();
        if (configuration is not null)
            options.Bind(configuration.GetSection(WrennApiOptions.Section));
        if (configure is not null)
            options.Configure(configure);
        options.ValidateOnStart();
        services.AddSingleton<IValidateOptions<WrennApiOptions>, WrennApiOptionsValidator>();
        var rateLimits = services.AddOptions<RateLimitOptions>();
        if (configuration is not null)
            rateLimits.Bind(configuration.GetSection(RateLimitOptions.Section));
        rateLimits.ValidateOnStart();
        services.AddSingleton<IValidateOptions<RateLimitOptions>, RateLimitOptionsValidator>();
        services.AddSingleton<ApiRateLimits>();
        // ASP.NET Core's rate limiter middleware, its global limiter the per-key request buckets the WebSocket shares.
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<ApiRateLimits, IOptions<RateLimitOptions>>((o, limits, settings) =>
        {
            o.GlobalLimiter = limits.Requests.WithTranslatedKey<HttpContext>(context => ApiCallers.Of(context) ?? ApiCallers.Anonymous, leaveOpen: true);
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = (rejected, _) => RateLimitResponses.OnRejectedAsync(rejected, settings.Value);
        });
        services.AddSingleton<UnexpectedErrors>();
        services.AddSingleton<ApiExecutor>();
        services.AddGraphQL(graphQL => graphQL
            .AddSchema<WrennSchema>()
            .AddGraphTypes(typeof(WrennSchema).Assembly)
            // Text as the old engine wrote it (quotes and non-ASCII unescaped); clients parse JSON either way.
            .AddSystemTextJson(json => json.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping)
            .AddErrorInfoProvider(e =>
            {
                // Only Wrenn's own codes (ApiError puts them in its extensions); request errors carry none, as before.
                e.ExposeCode = false;
                e.ExposeCodes = false;
                e.ExposeData = false;
            }));
        // After AddGraphQL: replaces its document builder with the one that applies the limits.
        services.AddSingleton<IDocumentBuilder, DocumentLimits>();
        return services;
    }

    public static WebApplication MapWrennApi(this WebApplication app)
    {
        var services = app.Services;
        var backend = services.GetRequiredService<IWrennBackend>();
        var executor = services.GetRequiredService<ApiExecutor>();
        var options = services.GetRequiredService<IOptions<WrennApiOptions>>().Value;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Wrenn.GraphQL.WebSocket");
        var limits = services.GetRequiredService<ApiRateLimits>();
        var http = new GraphQLHttpEndpoint(executor, backend, limits);
        var files = new FileEndpoints(backend);
        var sdl = SchemaSdl.Print(executor.Schema) + "\n";
        // The key first (once per request), then its rate limit, then the endpoints.
        app.Use((context, next) => ApiCallers.AuthenticateAsync(context, backend, () => next(context)));
        app.UseRateLimiter();
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
            await new GraphQLWebSocketSession(socket, executor, backend, limits, options.ConnectionInitTimeout, options.SubscriptionBuffer, logger, ApiAuthentication.OriginOf(context.Request)).RunAsync(context.RequestAborted);
        });
        app.MapPut("/files/{sandboxId}", (HttpContext context, string sandboxId) => files.UploadAsync(context, sandboxId));
        app.MapGet("/files/{sandboxId}", (HttpContext context, string sandboxId) => files.DownloadAsync(context, sandboxId));
        app.MapGet("/schema.graphql", () => Results.Text(sdl, "text/plain; charset=utf-8"));
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
