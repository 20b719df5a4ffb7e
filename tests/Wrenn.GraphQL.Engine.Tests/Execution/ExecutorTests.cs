using Wrenn.GraphQL.Engine.Execution;

namespace Wrenn.GraphQL.Engine.Tests.Execution;

/// <summary>Execution per spec section 6: field collection, null propagation, error paths, mutation order.</summary>
public sealed class ExecutorTests
{
    private sealed record Person(string Name, Person? Friend, object?[] Pets);

    private static GraphQLSchema Schema(List<string>? log = null)
    {
        var person = new ObjectType("Person");
        person
            .Field("name", ScalarType.String.NonNull(), c => ((Person)c.Source!).Name)
            .Field("friend", person, c => ((Person)c.Source!).Friend)
            .Field("pets", ScalarType.String.NonNull().List(), c => ((Person)c.Source!).Pets)
            .Field("boom", ScalarType.String.NonNull(), c => throw new InvalidOperationException("secret connection string"))
            .Field("denied", ScalarType.String, c => throw new GraphQLRequestException("Not allowed.", new Dictionary<string, object?> { ["code"] = "FORBIDDEN" }));
        var query = new ObjectType("Query")
            .Field("me", person, c => new Person("Ann", new Person("Bob", null, ["cat", null]), ["dog"]))
            .Field("echo", ScalarType.String, [new InputValue("s", ScalarType.String)], c => c.Arguments.TryGetValue("s", out var s) ? s : null)
            .Field("slow", ScalarType.Int, async c => { await Task.Delay(10, c.CancellationToken); return 1; });
        var mutation = new ObjectType("Mutation")
            .Field("first", ScalarType.Int, async c => { await Task.Delay(30); log!.Add("first"); return 1; })
            .Field("second", ScalarType.Int, c => { log!.Add("second"); return 2; });
        return new GraphQLSchema(query, mutation);
    }

    private static async Task<string> Run(string query, IReadOnlyDictionary<string, object?>? vars = null, List<string>? log = null) =>
        (await new Executor().ExecuteAsync(Schema(log), new GraphQLRequest(query, null, vars))).ToJson();

    [Fact]
    public async Task Fields_come_back_in_selection_order_with_aliases_and_merged_fragments()
    {
        Assert.Equal("""{"data":{"me":{"n":"Ann","friend":{"name":"Bob"},"__typename":"Person","name":"Ann"}}}""",
            await Run("{ me { n: name friend { ...F } __typename ... on Person { name } } } fragment F on Person { name }"));
    }

    [Fact]
    public async Task Skip_and_include_follow_literals_and_variables()
    {
        Assert.Equal("""{"data":{"me":{"friend":{"name":"Bob"}}}}""",
            await Run("query($no: Boolean!) { me { name @skip(if: true) pets @include(if: $no) friend @include(if: true) { name } } }",
                new Dictionary<string, object?> { ["no"] = false }));
    }

    [Fact]
    public async Task A_null_in_a_non_null_list_item_nulls_the_list_and_names_the_item_path()
    {
        Assert.Equal("""{"errors":[{"message":"Cannot return null for non-nullable field Person.pets.","locations":[{"line":1,"column":17}],"path":["me","friend","pets",1]}],"data":{"me":{"friend":{"pets":null}}}}""",
            await Run("{ me { friend { pets } } }"));
    }

    [Fact]
    public async Task A_resolver_exception_is_a_located_error_that_does_not_leak_and_propagates_to_the_nullable_parent()
    {
        string json = await Run("{ me { boom } }");
        Assert.Equal("""{"errors":[{"message":"Unexpected error.","locations":[{"line":1,"column":8}],"path":["me","boom"]}],"data":{"me":null}}""", json);
        Assert.DoesNotContain("secret", json);
    }

    [Fact]
    public async Task An_error_thrown_on_purpose_keeps_its_message_and_code()
    {
        Assert.Equal("""{"errors":[{"message":"Not allowed.","locations":[{"line":1,"column":8}],"path":["me","denied"],"extensions":{"code":"FORBIDDEN"}}],"data":{"me":{"denied":null}}}""",
            await Run("{ me { denied } }"));
    }

    [Fact]
    public async Task Mutation_fields_run_in_series_in_document_order()
    {
        var log = new List<string>();
        Assert.Equal("""{"data":{"first":1,"second":2}}""", await Run("mutation { first second }", log: log));
        Assert.Equal(["first", "second"], log);
    }

    [Fact]
    public async Task Arguments_reach_the_resolver_and_async_resolvers_complete()
    {
        Assert.Equal("""{"data":{"echo":"hi","slow":1}}""", await Run("""{ echo(s: "hi") slow }"""));
    }

    [Fact]
    public async Task A_syntax_error_returns_no_data_and_a_located_error()
    {
        Assert.Equal("""{"errors":[{"message":"Syntax Error: Expected Name, found <EOF>. (1:6)","locations":[{"line":1,"column":6}]}]}""",
            await Run("{ me "));
    }
}
