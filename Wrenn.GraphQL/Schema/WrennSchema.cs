using GraphQL.Introspection;
using GraphQL.Types;
using Wrenn.GraphQL.Schema.Roots;

namespace Wrenn.GraphQL.Schema;

/// <summary>Wrenn's GraphQL schema: built once, at start, from the graph types in DI.</summary>
public sealed class WrennSchema : global::GraphQL.Types.Schema
{
    /// <summary>Metadata key of a scalar's specification URL (introspection's <c>specifiedByURL</c>, SDL's <c>@specifiedBy</c>).</summary>
    public const string SpecifiedByUrlKey = "wrenn:specifiedByURL";

    public WrennSchema(IServiceProvider services, QueryType query, MutationType mutation, SubscriptionType subscription)
        : base(services)
    {
        Description = "Wrenn: microVM sandboxes for untrusted code.";
        Query = query;
        Mutation = mutation;
        Subscription = subscription;
        // graphql-js's full introspection query asks for these (directiveIsRepeatable, inputValueDeprecation).
        Features.RepeatableDirectives = true;
        Features.DeprecationOfInputValues = true;
    }

    /// <summary>
    /// What graphql-js's full introspection query asks and GraphQL.NET 8 lacks is added here:
    /// <c>__Type.specifiedByURL</c> (October 2021 specification) and <c>includeDeprecated</c> on
    /// <c>__Directive.args</c> (no directive argument of Wrenn's is deprecated, so it changes nothing).
    /// </summary>
    protected override void OnBeforeInitializeType(IGraphType graphType)
    {
        if (graphType is __Type type && !type.HasField("specifiedByURL"))
        {
            type.Field<StringGraphType>("specifiedByURL")
                .Resolve(c => c.Source is ScalarGraphType scalar ? scalar.GetMetadata<string?>(SpecifiedByUrlKey) : null);
        }
        if (graphType is __Directive directive && directive.GetField("args") is { } args
            && args.Arguments?.Find("includeDeprecated") is null)
        {
            (args.Arguments ??= new QueryArguments()).Add(new QueryArgument<BooleanGraphType> { Name = "includeDeprecated", DefaultValue = false });
        }
    }
}
