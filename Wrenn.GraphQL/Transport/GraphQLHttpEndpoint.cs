using System.Text.Json;
using System.Text.Json.Nodes;
using GraphQLParser.AST;
using Microsoft.AspNetCore.Http;
using Wrenn.GraphQL.Backend;
using Wrenn.GraphQL.Execution;
using Wrenn.GraphQL.RateLimiting;
using Wrenn.GraphQL.Schema;

namespace Wrenn.GraphQL.Transport;

/// <summary>
/// GraphQL over HTTP (the GraphQL-over-HTTP specification): POST with a JSON body, GET for queries
/// (mutations over GET answer 405), responses as application/graphql-response+json (request errors
/// with 4xx) or application/json (200 for any well-formed request), 401 without a valid API key
/// (authenticated by <see cref="ApiCallers"/>), 429 past the key's rate limits.
/// </summary>
internal sealed class GraphQLHttpEndpoint(ApiExecutor executor, IWrennBackend backend, ApiRateLimits limits)
{
    private const string GraphQLResponse = "application/graphql-response+json";
    private const string Json = "application/json";

    public async Task HandleAsync(HttpContext context)
    {
        var mediaType = ResponseMediaType(context.Request.Headers.Accept.ToString());
        if (mediaType is null)
        {
            await WriteAsync(context, StatusCodes.Status406NotAcceptable, Json, Errors("Accept application/graphql-response+json or application/json."));
            return;
        }
        ApiRequest? request;
        string? problem;
        if (HttpMethods.IsPost(context.Request.Method))
            (request, problem) = await ReadPostAsync(context);
        else if (HttpMethods.IsGet(context.Request.Method))
            (request, problem) = ReadGet(context);
        else
        {
            context.Response.Headers.Allow = "GET, POST";
            await WriteAsync(context, StatusCodes.Status405MethodNotAllowed, mediaType, Errors("Use POST (or GET for queries)."));
            return;
        }
        if (request is null)
        {
            await WriteAsync(context, problem!.StartsWith("Unsupported", StringComparison.Ordinal) ? StatusCodes.Status415UnsupportedMediaType : StatusCodes.Status400BadRequest,
                mediaType, Errors(problem));
            return;
        }
        var prepared = executor.Prepare(request);
        if (HttpMethods.IsGet(context.Request.Method) && prepared.Operation is OperationType.Mutation)
        {
            context.Response.Headers.Allow = "POST";
            await WriteAsync(context, StatusCodes.Status405MethodNotAllowed, mediaType, Errors("Mutations must be sent with POST."));
            return;
        }

        var caller = ApiCallers.Of(context);
        if (caller is null)
        {
            var denied = ApiErrors.Unauthenticated();
            await WriteAsync(context, StatusCodes.Status401Unauthorized, mediaType, Errors(denied.Message, "UNAUTHENTICATED"));
            return;
        }
        if (prepared.Operation is OperationType.Subscription)
        {
            await WriteAsync(context, mediaType == GraphQLResponse ? StatusCodes.Status400BadRequest : StatusCodes.Status200OK, mediaType,
                Errors("Subscriptions run over WebSocket (graphql-transport-ws) on /graphql."));
            return;
        }

        if (limits.AdmitCreates(caller, CreatingFields.Count(executor.Schema, prepared)) is { } limited)
        {
            await RateLimitResponses.WriteAsync(context, limited);
            return;
        }

        var result = await executor.ExecuteAsync(prepared, new ApiContext(caller, backend) { Origin = ApiAuthentication.OriginOf(context.Request) }, context.RequestAborted);
        context.Response.StatusCode = mediaType == GraphQLResponse && !result.Executed ? StatusCodes.Status400BadRequest : StatusCodes.Status200OK;
        context.Response.ContentType = mediaType + "; charset=utf-8";
        await executor.Serializer.WriteAsync(context.Response.Body, result, context.RequestAborted);
    }

    /// <summary>The response media type the Accept header allows (no header: application/json, as the spec asks).</summary>
    private static string? ResponseMediaType(string accept)
    {
        if (string.IsNullOrWhiteSpace(accept))
            return Json;
        var types = accept.Split(',').Select(t => t.Split(';')[0].Trim().ToLowerInvariant()).ToList();
        if (types.Contains(GraphQLResponse))
            return GraphQLResponse;
        if (types.Contains(Json) || types.Contains("application/*") || types.Contains("*/*"))
            return Json;
        return null;
    }

    private static async Task<(ApiRequest?, string?)> ReadPostAsync(HttpContext context)
    {
        var contentType = context.Request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (contentType is not ("application/json" or "application/graphql-response+json"))
            return (null, $"Unsupported Content-Type '{context.Request.ContentType}': send application/json.");
        JsonDocument body;
        try
        {
            body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException e)
        {
            return (null, $"The body is not valid JSON: {e.Message}");
        }
        using (body)
            return FromJson(body.RootElement);
    }

    private static (ApiRequest?, string?) ReadGet(HttpContext context)
    {
        var q = context.Request.Query;
        if (q["query"].ToString() is not { Length: > 0 } query)
            return (null, "A GET request needs a `query` parameter.");
        JsonElement? variables = null;
        if (q["variables"].ToString() is { Length: > 0 } json)
        {
            try
            {
                using var parsed = JsonDocument.Parse(json);
                if (parsed.RootElement.ValueKind != JsonValueKind.Object)
                    return (null, "`variables` must be a JSON object.");
                variables = parsed.RootElement.Clone();
            }
            catch (JsonException e)
            {
                return (null, $"`variables` is not valid JSON: {e.Message}");
            }
        }
        return (new ApiRequest(query, q["operationName"].ToString() is { Length: > 0 } name ? name : null, variables), null);
    }

    /// <summary>A request from a JSON object (an HTTP body, or a graphql-transport-ws subscribe payload).</summary>
    internal static (ApiRequest?, string?) FromJson(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
            return (null, "The body must be a JSON object with a `query`.");
        if (!body.TryGetProperty("query", out var query) || query.ValueKind != JsonValueKind.String)
            return (null, "The body needs `query`, a string.");
        string? operationName = null;
        if (body.TryGetProperty("operationName", out var name) && name.ValueKind is not JsonValueKind.Null)
        {
            if (name.ValueKind != JsonValueKind.String)
                return (null, "`operationName` must be a string.");
            operationName = name.GetString();
        }
        JsonElement? variables = null;
        if (body.TryGetProperty("variables", out var vars) && vars.ValueKind is not JsonValueKind.Null)
        {
            if (vars.ValueKind != JsonValueKind.Object)
                return (null, "`variables` must be a JSON object.");
            variables = vars.Clone();
        }
        return (new ApiRequest(query.GetString()!, operationName, variables), null);
    }

    private static JsonObject Errors(string message, string? code = null)
    {
        var error = new JsonObject { ["message"] = message };
        if (code is not null)
            error["extensions"] = new JsonObject { ["code"] = code };
        return new JsonObject { ["errors"] = new JsonArray(error) };
    }

    private static async Task WriteAsync(HttpContext context, int status, string mediaType, JsonObject body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = mediaType + "; charset=utf-8";
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }
}
