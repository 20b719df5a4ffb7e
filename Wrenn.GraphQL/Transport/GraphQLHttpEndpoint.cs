using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Wrenn.GraphQL.Backend;
using Wrenn.GraphQL.Engine.Execution;
using Wrenn.GraphQL.Engine.Language;
using Wrenn.GraphQL.Schema;

namespace Wrenn.GraphQL.Transport;

/// <summary>
/// GraphQL over HTTP (the GraphQL-over-HTTP specification): POST with a JSON body, GET for queries
/// (mutations over GET answer 405), responses as application/graphql-response+json (request errors
/// with 4xx) or application/json (200 for any well-formed request), 401 without a valid API key.
/// </summary>
internal sealed partial class GraphQLHttpEndpoint(GraphQLSchema schema, Executor executor, IWrennBackend backend, ILogger logger)
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
        GraphQLRequest? request;
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
        if (HttpMethods.IsGet(context.Request.Method) && IsMutation(request))
        {
            context.Response.Headers.Allow = "POST";
            await WriteAsync(context, StatusCodes.Status405MethodNotAllowed, mediaType, Errors("Mutations must be sent with POST."));
            return;
        }

        var caller = await ApiAuthentication.AuthenticateAsync(backend, context.Request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null, context.RequestAborted);
        if (caller is null)
        {
            var denied = ApiErrors.Unauthenticated();
            await WriteAsync(context, StatusCodes.Status401Unauthorized, mediaType, Errors(denied.Message, "UNAUTHENTICATED"));
            return;
        }

        ExecutionResult result;
        try
        {
            result = await executor.ExecuteAsync(schema, request with { Context = new ApiCall(caller, backend) }, context.RequestAborted);
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            LogFailed(logger, e);
            await WriteAsync(context, StatusCodes.Status500InternalServerError, mediaType, Errors("The server failed to execute the request; it has been logged.", "INTERNAL"));
            return;
        }
        var status = mediaType == GraphQLResponse && !result.HasData ? StatusCodes.Status400BadRequest : StatusCodes.Status200OK;
        context.Response.StatusCode = status;
        context.Response.ContentType = mediaType + "; charset=utf-8";
        await context.Response.WriteAsync(result.ToJson(), context.RequestAborted);
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

    private static async Task<(GraphQLRequest?, string?)> ReadPostAsync(HttpContext context)
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

    private static (GraphQLRequest?, string?) ReadGet(HttpContext context)
    {
        var q = context.Request.Query;
        if (q["query"].ToString() is not { Length: > 0 } query)
            return (null, "A GET request needs a `query` parameter.");
        Dictionary<string, object?>? variables = null;
        if (q["variables"].ToString() is { Length: > 0 } json)
        {
            try
            {
                using var parsed = JsonDocument.Parse(json);
                if (parsed.RootElement.ValueKind != JsonValueKind.Object)
                    return (null, "`variables` must be a JSON object.");
                variables = parsed.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
            }
            catch (JsonException e)
            {
                return (null, $"`variables` is not valid JSON: {e.Message}");
            }
        }
        return (new GraphQLRequest(query, q["operationName"].ToString() is { Length: > 0 } name ? name : null, variables), null);
    }

    internal static (GraphQLRequest?, string?) FromJson(JsonElement body)
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
        Dictionary<string, object?>? variables = null;
        if (body.TryGetProperty("variables", out var vars) && vars.ValueKind is not JsonValueKind.Null)
        {
            if (vars.ValueKind != JsonValueKind.Object)
                return (null, "`variables` must be a JSON object.");
            variables = vars.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
        }
        return (new GraphQLRequest(query.GetString()!, operationName, variables), null);
    }

    private static bool IsMutation(GraphQLRequest request) => OperationTypeOf(request) is OperationType.Mutation;

    /// <summary>The type of the operation a request selects, or null when it selects none (the executor then says why).</summary>
    internal static OperationType? OperationTypeOf(GraphQLRequest request)
    {
        try
        {
            var operations = Parser.Parse(request.Query).Definitions.OfType<OperationDefinition>().ToList();
            var chosen = request.OperationName is null ? (operations.Count == 1 ? operations[0] : null) : operations.FirstOrDefault(o => o.Name == request.OperationName);
            return chosen?.Operation;
        }
        catch (GraphQLSyntaxException)
        {
            return null;
        }
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

    [LoggerMessage(Level = LogLevel.Error, Message = "A GraphQL request failed unexpectedly")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
