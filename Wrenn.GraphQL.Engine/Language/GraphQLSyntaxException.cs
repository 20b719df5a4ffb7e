namespace Wrenn.GraphQL.Engine.Language;

/// <summary>The document is not valid GraphQL syntax (or exceeds a parse limit); Location says where.</summary>
public sealed class GraphQLSyntaxException(string message, Location location)
    : Exception($"Syntax Error: {message} ({location.Line}:{location.Column})")
{
    public string Description { get; } = message;
    public Location Location { get; } = location;
}
