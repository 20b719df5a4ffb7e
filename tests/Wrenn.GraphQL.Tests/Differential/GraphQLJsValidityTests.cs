using System.Text.Json;
using System.Text.Json.Nodes;
using GraphQL;
using GraphQL.Validation;
using GraphQLParser.AST;
using Wrenn.GraphQL.Execution;
using Wrenn.GraphQL.Schema;

namespace Wrenn.GraphQL.Tests.Differential;

/// <summary>
/// Generated documents against Wrenn's schema, valid and broken, through graphql-js (the reference
/// implementation, given Wrenn's SDL) and through Wrenn's API up to execution: every document graphql-js
/// accepts, the API must accept, and every one it refuses (syntax, a validation rule, variable coercion),
/// the API must refuse before running anything.
/// </summary>
public sealed class GraphQLJsValidityTests
{
    private const int Documents = 2_000;

    [Fact]
    public async Task Generated_documents_are_accepted_or_refused_as_graphql_js_decides()
    {
        using var api = new ApiServices();
        var generator = new DocumentGenerator(api.Schema, seed: 20261201);
        var corpus = Enumerable.Range(0, Documents).Select(_ => generator.Next()).ToList();

        var input = new JsonObject
        {
            ["sdl"] = SchemaSdl.Print(api.Schema),
            ["documents"] = new JsonArray(corpus.Select(c => (JsonNode)new JsonObject { ["query"] = c.Query, ["variables"] = c.Variables is null ? null : JsonNode.Parse(c.Variables) }).ToArray()),
        };
        var oracle = JsonNode.Parse(await NodeScripts.RunAsync("validate.mjs", input.ToJsonString()))!.AsArray();
        var valid = oracle.Count(o => o!["valid"]!.GetValue<bool>());
        Assert.True(valid > Documents / 5 && valid < Documents * 4 / 5, $"the corpus should hold both kinds; graphql-js accepts {valid} of {Documents}");

        var validator = api.Get<IDocumentValidator>();
        var mismatches = new List<string>();
        for (var i = 0; i < corpus.Count; i++)
        {
            var (ours, why) = await AcceptsAsync(api, validator, corpus[i].Query, corpus[i].Variables);
            var theirs = oracle[i]!["valid"]!.GetValue<bool>();
            if (ours != theirs)
                mismatches.Add($"document: {corpus[i].Query}\n  variables: {corpus[i].Variables}\n  graphql-js: {(theirs ? "valid" : oracle[i]!["errors"]!.ToJsonString())}\n  Wrenn:      {(ours ? "valid" : why)}");
        }
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {corpus.Count} documents judged differently:\n" + string.Join("\n", mismatches.Take(15)));
    }

    /// <summary>Whether the API would run the document: the limits, the operation, every validation rule and the variables, as the executer checks them.</summary>
    private static async Task<(bool Accepted, string? Why)> AcceptsAsync(ApiServices api, IDocumentValidator validator, string query, string? variables)
    {
        var prepared = api.Executor.Prepare(new ApiRequest(query, null, variables is null ? null : JsonDocument.Parse(variables).RootElement));
        if (prepared.Refusal is { } refusal)
            return (false, refusal.Message);
        var operation = prepared.Document!.Definitions.OfType<GraphQLOperationDefinition>().Single();
        var result = await validator.ValidateAsync(new ValidationOptions
        {
            Schema = api.Schema,
            Document = prepared.Document,
            Operation = operation,
            Rules = DocumentValidator.CoreRules,
            Variables = variables is null ? Inputs.Empty : api.Executor.Serializer.Deserialize<Inputs>(variables) ?? Inputs.Empty,
            Extensions = Inputs.Empty,
            RequestServices = null,
            UserContext = new Dictionary<string, object?>(),
        });
        return (result.IsValid, result.IsValid ? null : string.Join("; ", result.Errors.Select(e => e.Message)));
    }
}
