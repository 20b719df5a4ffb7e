using Wrenn.GraphQL.Execution;
using Wrenn.GraphQL.RateLimiting;

namespace Wrenn.GraphQL.Tests.RateLimiting;

/// <summary>The creates rate limit counts every creating field a mutation selects at its root, aliased or behind fragments.</summary>
public sealed class CreatingFieldsTests
{
    [Theory]
    [InlineData("{ me { id } }", 0)]
    [InlineData("mutation { destroySandbox(id: \"sb-1\") }", 0)]
    [InlineData("mutation { createSandbox(input: {template: \"base\"}) { id } }", 1)]
    [InlineData("mutation { a: createSandbox(input: {template: \"base\"}) { id } b: createSandbox(input: {template: \"base\"}) { id } }", 2)]
    [InlineData("mutation { ...F ... on Mutation { c: createSandbox(input: {template: \"x\"}) { id } } } fragment F on Mutation { createSandbox(input: {template: \"base\"}) { id } }", 2)]
    [InlineData("query Q { me { id } } mutation M { createSandbox(input: {template: \"base\"}) { id } }", 0)]
    public void Counts_the_creating_fields_of_the_operation_that_runs(string query, int creates)
    {
        using var api = new ApiServices();
        var prepared = api.Executor.Prepare(new ApiRequest(query, query.StartsWith("query Q", StringComparison.Ordinal) ? "Q" : null));
        Assert.Equal(creates, CreatingFields.Count(api.Schema, prepared));
    }

    [Fact]
    public void The_named_mutation_of_a_document_with_several_is_the_one_counted()
    {
        using var api = new ApiServices();
        var prepared = api.Executor.Prepare(new ApiRequest("query Q { me { id } } mutation M { a: createSandbox(input: {template: \"base\"}) { id } }", "M"));
        Assert.Equal(1, CreatingFields.Count(api.Schema, prepared));
    }
}
