using Wrenn.GraphQL.Engine.Language;

namespace Wrenn.GraphQL.Engine.Validation;

/// <summary>One entry of a response's "errors" list (spec 7.1.2): message, locations and, once executing, a path.</summary>
public sealed record GraphQLError(string Message, IReadOnlyList<Location> Locations)
{
    public GraphQLError(string message, params Location[] locations) : this(message, (IReadOnlyList<Location>)locations) { }
}
