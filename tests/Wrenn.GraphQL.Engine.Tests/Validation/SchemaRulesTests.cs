using Wrenn.GraphQL.Engine.Execution;
using Wrenn.GraphQL.Engine.Language;
using Wrenn.GraphQL.Engine.Tests.Differential;
using Wrenn.GraphQL.Engine.Validation;

namespace Wrenn.GraphQL.Engine.Tests.Validation;

/// <summary>The schema-aware rules of spec section 5: for each, a document that passes and one that fails, with graphql-js's message.</summary>
public sealed class SchemaRulesTests
{
    private static readonly GraphQLSchema Schema = GraphQLJsDifferentialTests.BuildSchema(GraphQLJsDifferentialTests.Data());

    public static TheoryData<string, string, string> Rules() => new()
    {
        { "5.3.1 fields on correct type", "{ pets { name } }", "Cannot query field \"nope\" on type \"Pet\"." },
        { "5.3.2 field merging", "{ pets { a: name b: species } }", "Fields \"a\" conflict because \"name\" and \"species\" are different fields. Use different aliases on the fields to fetch both if this was intentional." },
        { "5.3.3 leaf field selections", "{ pets { name } }", "Field \"pets\" of type \"[Pet!]!\" must have a selection of subfields. Did you mean \"pets { ... }\"?" },
        { "5.4.1 argument names", "{ numbers(count: 1) }", "Unknown argument \"nope\" on field \"Query.numbers\"." },
        { "5.4.2.1 required arguments", "{ pet(name: \"Tom\") { name } }", "Field \"pet\" argument \"name\" of type \"String!\" is required, but it was not provided." },
        { "5.5.1.2 fragment spread type existence", "{ pets { ... on Dog { name } } }", "Unknown type \"Nope\"." },
        { "5.5.1.3 fragments on composite types", "{ ...F } fragment F on Query { numbers }", "Fragment \"F\" cannot condition on non composite type \"Species\"." },
        { "5.5.2.3 fragment spread is possible", "{ pets { ... on Cat { lives } } }", "Fragment cannot be spread here as objects of type \"Pet\" can never be of type \"Query\"." },
        { "5.6.1 values of correct type", "{ numbers(count: 2) }", "Int cannot represent non-integer value: \"three\"" },
        { "5.6.2 input object field names", "{ pets(filter: {limit: 1}) { name } }", "Field \"nope\" is not defined by type \"PetFilter\"." },
        { "5.6.4 input object required fields", "{ petBy(key: {name: \"Tom\"}) { name } }", "Field \"PetKey.name\" of required type \"String!\" was not provided." },
        { "5.7.1 directives are defined", "{ numbers @skip(if: false) }", "Unknown directive \"@nope\"." },
        { "5.7.2 directives in valid locations", "query Q { numbers @include(if: true) }", "Directive \"@skip\" may not be used on QUERY." },
        { "5.7.3 directives are unique per location", "{ numbers @skip(if: false) }", "The directive \"@skip\" can only be used once at this location." },
        { "5.8.2 variables are input types", "query Q($a: Int) { numbers(count: $a) }", "Variable \"$a\" cannot be non-input type \"Pet\"." },
        { "5.8.5 variable usages are allowed", "query Q($a: Int) { numbers(count: $a) }", "Variable \"$a\" of type \"String\" used in position expecting type \"Int\"." },
    };

    private static readonly Dictionary<string, string> Failing = new()
    {
        ["5.3.1 fields on correct type"] = "{ pets { nope } }",
        ["5.3.2 field merging"] = "{ pets { a: name a: species } }",
        ["5.3.3 leaf field selections"] = "{ pets }",
        ["5.4.1 argument names"] = "{ numbers(nope: 1) }",
        ["5.4.2.1 required arguments"] = "{ pet { name } }",
        ["5.5.1.2 fragment spread type existence"] = "{ pets { ... on Nope { name } } }",
        ["5.5.1.3 fragments on composite types"] = "{ ...F } fragment F on Species { x }",
        ["5.5.2.3 fragment spread is possible"] = "{ pets { ... on Query { numbers } } }",
        ["5.6.1 values of correct type"] = "{ numbers(count: \"three\") }",
        ["5.6.2 input object field names"] = "{ pets(filter: {nope: 1}) { name } }",
        ["5.6.4 input object required fields"] = "{ petBy(key: {species: CAT}) { name } }",
        ["5.7.1 directives are defined"] = "{ numbers @nope }",
        ["5.7.2 directives in valid locations"] = "query Q @skip(if: true) { numbers }",
        ["5.7.3 directives are unique per location"] = "{ numbers @skip(if: false) @skip(if: false) }",
        ["5.8.2 variables are input types"] = "query Q($a: Pet) { numbers }",
        ["5.8.5 variable usages are allowed"] = "query Q($a: String) { numbers(count: $a) }",
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void Each_rule_passes_a_valid_document_and_refuses_a_broken_one_with_graphql_js_wording(string rule, string valid, string message)
    {
        Assert.Empty(SchemaRules.Validate(Schema, Parser.Parse(valid)));
        var errors = SchemaRules.Validate(Schema, Parser.Parse(Failing[rule]));
        Assert.Contains(errors, e => e.Message == message);
    }

    [Fact]
    public async Task A_refused_document_gets_errors_and_no_data_and_no_resolver_runs()
    {
        var result = await new Executor().ExecuteAsync(Schema, new GraphQLRequest("{ throws pets { nope } }"));
        Assert.False(result.HasData);
        Assert.Equal("""{"errors":[{"message":"Cannot query field \"nope\" on type \"Pet\".","locations":[{"line":1,"column":17}]}]}""", result.ToJson());
    }

    [Fact]
    public async Task Variables_are_coerced_and_a_bad_one_is_a_request_error_naming_the_variable()
    {
        var ok = await new Executor().ExecuteAsync(Schema, new GraphQLRequest("query Q($c: Int) { numbers(count: $c) }", null, new Dictionary<string, object?> { ["c"] = 3 }));
        Assert.Equal("""{"data":{"numbers":[[],[0],[0,1]]}}""", ok.ToJson());
        var bad = await new Executor().ExecuteAsync(Schema, new GraphQLRequest("query Q($c: Int) { numbers(count: $c) }", null, new Dictionary<string, object?> { ["c"] = "x" }));
        Assert.Equal("Variable \"$c\" got invalid value \"x\"; Int cannot represent non-integer value: \"x\"", Assert.Single(bad.Errors).Message);
        var single = await new Executor().ExecuteAsync(Schema, new GraphQLRequest("""{ pets(filter: {species: CAT, limit: 5}) { name } }"""));
        Assert.Equal("""{"data":{"pets":[{"name":"Tom"}]}}""", single.ToJson());
    }

    [Fact]
    public async Task A_variable_holding_a_huge_list_is_refused_before_coercion()
    {
        var huge = Enumerable.Range(0, 200_000).Cast<object?>().ToList();
        var result = await new Executor().ExecuteAsync(Schema, new GraphQLRequest("query Q($c: Int) { numbers(count: $c) }", null, new Dictionary<string, object?> { ["c"] = huge }));
        Assert.False(result.HasData);
        Assert.Contains("more than 100000 list items", Assert.Single(result.Errors).Message);
    }
}
