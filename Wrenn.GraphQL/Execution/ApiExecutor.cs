using System.Text.Json;
using GraphQL;
using GraphQL.Execution;
using GraphQL.Types;
using GraphQLParser.AST;
using Microsoft.Extensions.Options;
using Wrenn.GraphQL.Schema;

namespace Wrenn.GraphQL.Execution;

/// <summary>A GraphQL request as a transport read it: the document text, the operation to run and the variables (JSON).</summary>
public sealed record ApiRequest(string Query, string? OperationName = null, JsonElement? Variables = null);

/// <summary>A request parsed and checked against the limits: its document and the operation it selects, or why it is refused.</summary>
public sealed record PreparedRequest(ApiRequest Request, GraphQLDocument? Document, OperationType? Operation, ExecutionError? Refusal);

/// <summary>
/// What both transports run requests through: the limits, then GraphQL.NET's <see cref="IDocumentExecuter"/>
/// on Wrenn's schema, with the request's <see cref="ApiContext"/>.
/// </summary>
public sealed class ApiExecutor(IDocumentExecuter executer, ISchema schema, IDocumentBuilder documents, IGraphQLTextSerializer serializer,
    UnexpectedErrors unexpected, IOptions<WrennApiOptions> options)
{
    private readonly WrennApiOptions _limits = options.Value;

    public ISchema Schema => schema;

    public IGraphQLTextSerializer Serializer => serializer;

    public PreparedRequest Prepare(ApiRequest request)
    {
        GraphQLDocument document;
        try
        {
            document = documents.Build(request.Query);
        }
        catch (ExecutionError e)
        {
            return new PreparedRequest(request, null, null, e);
        }
        catch (Exception e)
        {
            // A parser bug, not the client's fault: logged with an id, answered as INTERNAL (never a 500 without a body).
            return new PreparedRequest(request, null, null, unexpected.Internal(e, "(parsing the document)"));
        }
        if (VariableListItems(request.Variables, _limits.MaxVariableListItems) is { } items && items > _limits.MaxVariableListItems)
            return new PreparedRequest(request, document, null,
                new DocumentRefusedError($"Variables hold {items} list items, more than the limit of {_limits.MaxVariableListItems}; send less data per request."));
        var operations = document.Definitions.OfType<GraphQLOperationDefinition>().ToList();
        var chosen = request.OperationName is null
            ? (operations.Count == 1 ? operations[0] : null)
            : operations.FirstOrDefault(o => o.Name is { } name && name.Value == request.OperationName);
        if (chosen is null)
        {
            var why = request.OperationName is null
                ? operations.Count == 0 ? "The document has no operation to run." : "Must provide operation name if query contains multiple operations."
                : $"Unknown operation named \"{request.OperationName}\".";
            return new PreparedRequest(request, document, null, new ExecutionError(why));
        }
        return new PreparedRequest(request, document, chosen.Operation, null);
    }

    /// <summary>Runs a prepared query or mutation (or starts a subscription: the result then holds its stream).</summary>
    public async Task<ExecutionResult> ExecuteAsync(PreparedRequest prepared, ApiContext context, CancellationToken cancellationToken)
    {
        if (prepared.Refusal is { } refusal)
            return new ExecutionResult(refusal);
        Inputs variables;
        try
        {
            variables = prepared.Request.Variables is { } json ? serializer.ReadNode<Inputs>(json) ?? Inputs.Empty : Inputs.Empty;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return new ExecutionResult(new ExecutionError($"`variables` could not be read: {e.Message}"));
        }
        var options = new ExecutionOptions
        {
            Schema = schema,
            Query = prepared.Request.Query,
            Document = prepared.Document,
            OperationName = prepared.Request.OperationName,
            Variables = variables,
            UserContext = context,
            CancellationToken = cancellationToken,
            UnhandledExceptionDelegate = unexpected.HandleAsync,
        };
        var result = await executer.ExecuteAsync(options).ConfigureAwait(false);
        // A variable whose value does not fit its type (an unknown enum name, text for an Int) is the
        // caller's input: BAD_USER_INPUT, as Apollo Server reports it.
        foreach (var error in result.Errors?.OfType<global::GraphQL.Validation.InvalidVariableError>() ?? [])
            (error.Extensions ??= [])["code"] = "BAD_USER_INPUT";
        return result;
    }

    public string Serialize(ExecutionResult result) => serializer.Serialize(result);

    /// <summary>Items in all arrays of the variables together (counted without recursion, up to just past <paramref name="limit"/>); null without variables.</summary>
    private static long? VariableListItems(JsonElement? variables, long limit)
    {
        if (variables is not { } root)
            return null;
        long items = 0;
        var stack = new Stack<JsonElement>();
        stack.Push(root);
        while (stack.TryPop(out var value))
        {
            switch (value.ValueKind)
            {
                case JsonValueKind.Array:
                    items += value.GetArrayLength();
                    if (items > limit)
                        return items;
                    foreach (var item in value.EnumerateArray())
                        stack.Push(item);
                    break;
                case JsonValueKind.Object:
                    foreach (var property in value.EnumerateObject())
                        stack.Push(property.Value);
                    break;
            }
        }
        return items;
    }
}
