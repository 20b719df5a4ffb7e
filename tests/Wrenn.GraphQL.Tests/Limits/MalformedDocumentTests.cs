using Wrenn.GraphQL.Execution;

namespace Wrenn.GraphQL.Tests.Limits;

/// <summary>Documents the fuzz test found (GraphQL-Parser failed to quote errors after a carriage return): each is refused as a syntax error, not answered with a 500.</summary>
public sealed class MalformedDocumentTests
{
    [Theory]
    [InlineData("{ a: sandbox(id: \"sb-0\") { id } b: template(name: \rbase\") { ...T } } fragment T on Template { id name public }")]
    [InlineData("{ hosts { name } __typ\rname me { ... o$ Team { id } } }")]
    [InlineData("{ me {\r\n name } }\r\"unterminated")]
    [InlineData("{ hosts { name live vcpus } __typname me { ... o$ Team { id } } }")]
    [InlineData("{ a: sandbox(id: \"sb-0\") { i } b: template(name: \"base\") { ...T } } sragment T on Tem,late { id name public }")]
    [InlineData("query Page($n: It = 2) N sandboxes!first: $n) { nodes { id state ;emplate { name } host { name } } pageInfo { hasNextPage endCursor } } }")]
    [InlineData("ŢdKŮǨɯʲˆóǂǩƊơ")]
    [InlineData("{ me { name } } \"unterminated")]
    [InlineData("")]
    public void A_malformed_document_is_refused_as_a_syntax_error(string query)
    {
        using var api = new ApiServices();
        var refusal = api.Executor.Prepare(new ApiRequest(query)).Refusal;
        Assert.NotNull(refusal);
        Assert.StartsWith("Syntax Error: ", refusal.Message);
    }
}
