using Wrenn.GraphQL.Engine.Execution;

namespace Wrenn.GraphQL.Engine.Tests.Execution;

/// <summary>Abusive requests are refused before any resolver runs, with a message that names the limit.</summary>
public sealed class ExecutionLimitsTests
{
    private static GraphQLSchema Schema(Action onCall) =>
        new(new ObjectType("Query").Field("a", ScalarType.Int, c => { onCall(); return 1; }));

    [Fact]
    public async Task An_alias_flood_is_refused_before_any_resolver_runs()
    {
        int calls = 0;
        string query = "{" + string.Concat(Enumerable.Range(0, 1000).Select(i => $" x{i}: a")) + " }";
        var result = await new Executor().ExecuteAsync(Schema(() => calls++), new GraphQLRequest(query));
        Assert.False(result.HasData);
        Assert.Equal("Document uses 1000 aliases, more than the limit of 500; split the request.", Assert.Single(result.Errors).Message);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task Too_many_fields_are_refused_and_the_limit_is_configurable()
    {
        int calls = 0;
        var executor = new Executor(new ExecutionLimits { MaxFields = 3 });
        var refused = await executor.ExecuteAsync(Schema(() => calls++), new GraphQLRequest("{ a a a a }"));
        Assert.Contains("more than the limit of 3", Assert.Single(refused.Errors).Message);
        var allowed = await executor.ExecuteAsync(Schema(() => calls++), new GraphQLRequest("{ a a a }"));
        Assert.Equal("""{"data":{"a":1}}""", allowed.ToJson());
    }

    [Fact]
    public async Task A_ten_megabyte_document_is_refused_as_a_response_error()
    {
        var result = await new Executor().ExecuteAsync(Schema(() => { }), new GraphQLRequest("{ a " + new string(' ', 10 * 1024 * 1024) + "}"));
        Assert.False(result.HasData);
        Assert.Contains("more than the limit of 1000000", Assert.Single(result.Errors).Message);
    }

    [Fact]
    public async Task Deep_nesting_is_refused_as_a_response_error()
    {
        var result = await new Executor().ExecuteAsync(Schema(() => { }), new GraphQLRequest(string.Concat(Enumerable.Repeat("{ a ", 50_000)) + new string('}', 50_000)));
        Assert.Contains("nests deeper than the limit", Assert.Single(result.Errors).Message);
    }
}
