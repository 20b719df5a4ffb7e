using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Wrenn.GraphQL.Execution;

namespace Wrenn.GraphQL.Tests.Limits;

/// <summary>Requests over a limit are refused before anything runs, with a message naming the limit; graphql-js's own introspection query is not.</summary>
public sealed class DocumentLimitsTests
{
    private static string Refusal(ApiServices api, string query, string? variables = null) =>
        api.Executor.Prepare(new ApiRequest(query, null, variables is null ? null : JsonDocument.Parse(variables).RootElement)).Refusal?.Message
        ?? throw new Xunit.Sdk.XunitException($"not refused: {query[..Math.Min(query.Length, 200)]}");

    [Fact]
    public void A_document_longer_than_the_limit_is_refused_naming_its_length()
    {
        using var api = new ApiServices();
        Assert.Contains("1000001 characters long, more than the limit of 1000000", Refusal(api, "{ me { name } }" + new string(' ', 1_000_001 - 15)));
    }

    [Fact]
    public void A_document_with_too_many_tokens_is_refused_before_it_is_parsed()
    {
        using var api = new ApiServices(o => o.MaxTokens = 1_000);
        Assert.Contains("more than 1000 tokens", Refusal(api, "{ " + string.Concat(Enumerable.Repeat("me { name } ", 300)) + "}"));
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_refused_in_braces_in_lists_and_through_fragments()
    {
        using var api = new ApiServices();
        Assert.Contains("nests deeper than the limit of 64", Refusal(api, new string('{', 100_000) + new string('}', 100_000)));
        Assert.Contains("nests deeper than the limit of 64", Refusal(api, "{ sandboxes(after: " + new string('[', 70) + new string(']', 70) + ") { pageInfo { hasNextPage } } }"));
        var chain = new StringBuilder("{ ...F0 }");
        for (var i = 0; i < 80; i++)
            chain.Append($" fragment F{i} on Query {{ {(i < 79 ? $"...F{i + 1}" : "me { name }")} }}");
        Assert.Contains("through its fragments, more than the limit of 64", Refusal(api, chain.ToString()));
    }

    [Fact]
    public void A_fragment_bomb_is_refused_by_counting_not_by_expanding_it()
    {
        using var api = new ApiServices();
        // 40 fragments, each spreading the next twice: 2^40 fields once expanded.
        var bomb = new StringBuilder("{ ...F0 }");
        for (var i = 0; i < 40; i++)
            bomb.Append($" fragment F{i} on Query {{ {(i < 39 ? $"...F{i + 1} ...F{i + 1}" : "me { name }")} }}");
        var clock = Stopwatch.StartNew();
        Assert.Contains("fields (fragments counted at every spread), more than the limit of 5000", Refusal(api, bomb.ToString()));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "counting must not expand the fragments");
    }

    [Fact]
    public void Aliases_beyond_the_limit_are_refused()
    {
        using var api = new ApiServices();
        Assert.Contains("501 aliases, more than the limit of 500", Refusal(api, "{ " + string.Concat(Enumerable.Range(0, 501).Select(i => $"a{i}: __typename ")) + "}"));
    }

    [Fact]
    public void Variables_holding_more_list_items_than_the_limit_are_refused_before_coercion()
    {
        using var api = new ApiServices();
        var variables = "{\"args\": [" + string.Join(",", Enumerable.Repeat("\"x\"", 100_001)) + "]}";
        Assert.Contains("100001 list items, more than the limit of 100000",
            Refusal(api, "mutation ($args: [String!]) { exec(sandboxId: \"sb-1\", command: \"true\", args: $args) { exitCode } }", variables));
    }

    [Fact]
    public async Task Graphql_js_full_introspection_query_passes_every_limit_and_runs_without_the_backend()
    {
        using var api = new ApiServices();
        var query = await NodeScripts.IntrospectionQueryAsync();
        Assert.Null(api.Executor.Prepare(new ApiRequest(query)).Refusal);
        var response = await api.RunAsync(query);
        Assert.False(response.TryGetProperty("errors", out var errors), errors.ToString());
        Assert.Equal("Query", response.GetProperty("data").GetProperty("__schema").GetProperty("queryType").GetProperty("name").GetString());
    }

    [Fact]
    public void A_setting_that_would_switch_a_limit_off_stops_the_start_naming_it()
    {
        using var api = new ApiServices(o => o.MaxDepth = 0);
        var failure = Assert.ThrowsAny<Microsoft.Extensions.Options.OptionsValidationException>(() => api.Get<Microsoft.Extensions.Options.IOptions<WrennApiOptions>>().Value);
        Assert.Contains("Wrenn:GraphQL:MaxDepth must be at least 1 (got 0)", failure.Message);
    }
}
