using GraphQL.Builders;
using GraphQL.Types;
using GraphQLParser.AST;
using Wrenn.GraphQL.Execution;

namespace Wrenn.GraphQL.RateLimiting;

/// <summary>
/// The mutation fields that create a sandbox carry a mark (<see cref="CreatesSandbox"/>); a request's
/// creates are the marked fields its operation selects at the root, through fragments too, each
/// counted once per selection (a conservative count: the creates rate limit is taken before it runs).
/// </summary>
public static class CreatingFields
{
    private const string MetadataKey = "wrenn:createsSandbox";

    /// <summary>Marks a mutation field as one that creates a sandbox (counted by the creates rate limit).</summary>
    public static FieldBuilder<TSource, TReturn> CreatesSandbox<TSource, TReturn>(this FieldBuilder<TSource, TReturn> field)
    {
        field.FieldType.Metadata[MetadataKey] = true;
        return field;
    }

    public static int Count(ISchema schema, PreparedRequest prepared)
    {
        if (prepared is not { Operation: OperationType.Mutation, Document: { } document } || schema.Mutation is not { } mutation)
            return 0;
        var name = prepared.Request.OperationName;
        var operation = document.Definitions.OfType<GraphQLOperationDefinition>()
            .FirstOrDefault(o => name is null || o.Name?.Value == name);
        if (operation is null)
            return 0;
        var fragments = document.Definitions.OfType<GraphQLFragmentDefinition>().ToDictionary(f => f.FragmentName.Name.Value.ToString());
        var count = 0;
        var seen = new HashSet<string>();
        var pending = new Stack<GraphQLSelectionSet>();
        pending.Push(operation.SelectionSet);
        while (pending.TryPop(out var set))
        {
            foreach (var selection in set.Selections)
            {
                switch (selection)
                {
                    case GraphQLField field when mutation.GetField(field.Name.Value.ToString()) is { } definition && definition.GetMetadata(MetadataKey, false):
                        count++;
                        break;
                    case GraphQLInlineFragment inline:
                        pending.Push(inline.SelectionSet);
                        break;
                    // Each fragment once: a spread repeated at the root selects the same fields (validation refuses cycles).
                    case GraphQLFragmentSpread spread when seen.Add(spread.FragmentName.Name.Value.ToString())
                        && fragments.TryGetValue(spread.FragmentName.Name.Value.ToString(), out var fragment):
                        pending.Push(fragment.SelectionSet);
                        break;
                }
            }
        }
        return count;
    }
}
