using GraphQLParser;

namespace Wrenn.GraphQL.Tests.Limits;

/// <summary>Why DocumentLimits catches IndexOutOfRangeException: GraphQL-Parser 9.5 throws it instead of a syntax error here. When this fails, the workaround can go.</summary>
public sealed class ParserQuirkTests
{
    [Fact]
    public void GraphQL_Parser_fails_to_quote_an_unterminated_string_after_a_carriage_return()
    {
        Assert.Throws<IndexOutOfRangeException>(() => Parser.Parse("{ a: template(name: \rbase\") { id } }"));
    }
}
