using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Wrenn.GraphQL.Engine.Execution;
using Wrenn.Testing;

namespace Wrenn.GraphQL.Engine.Tests.Differential;

/// <summary>
/// The same schema in graphql-js (tests/node/graphql-diff/schema.mjs) and in our engine; a corpus of
/// generated documents from a fixed seed goes through both (one Node run for the whole batch) and any
/// difference in data, in whether there are errors, or in error paths fails. Messages may differ.
/// </summary>
public sealed class GraphQLJsDifferentialTests
{
    internal sealed record Pet(string Type, string Name, string Species, bool Barks = false, string? Homepage = null, int? Lives = null, int? LivesLeft = null);

    internal static Pet[] Data() =>
    [
        new("Dog", "Rex", "DOG", Barks: true, Homepage: "https://rex.example"),
        new("Cat", "Tom", "CAT", Lives: 9, LivesLeft: 7),
        new("Dog", "Fido", "DOG", Barks: false),
    ];

    /// <summary>The C# twin of tests/node/graphql-diff/schema.mjs's SDL, field for field.</summary>
    internal static GraphQLSchema BuildSchema(Pet[] pets)
    {
        ObjectType? dog = null, cat = null;
        var species = new EnumType("Species", "DOG", "CAT", "BIRD");
        var url = new ScalarType("Url", v => v.ToString()!, v => v.ToString()!);
        var pet = new InterfaceType("Pet", v => ((Pet)v).Type == "Dog" ? dog! : cat!)
            .Field("name", ScalarType.String.NonNull())
            .Field("species", species.NonNull());
        dog = new ObjectType("Dog").Implements(pet)
            .Field("name", ScalarType.String.NonNull(), c => ((Pet)c.Source!).Name)
            .Field("species", species.NonNull(), c => ((Pet)c.Source!).Species)
            .Field("barks", ScalarType.Boolean.NonNull(), c => ((Pet)c.Source!).Barks)
            .Field("homepage", url, c => ((Pet)c.Source!).Homepage);
        cat = new ObjectType("Cat").Implements(pet)
            .Field("name", ScalarType.String.NonNull(), c => ((Pet)c.Source!).Name)
            .Field("species", species.NonNull(), c => ((Pet)c.Source!).Species)
            .Field("lives", ScalarType.Int, [], c => ((Pet)c.Source!).Lives, deprecationReason: "Use livesLeft.")
            .Field("livesLeft", ScalarType.Int, c => ((Pet)c.Source!).LivesLeft);
        var anything = new UnionType("Anything", v => ((Pet)v).Type == "Dog" ? dog : cat, dog, cat);
        var filter = new InputObjectType("PetFilter")
            .Field("species", species)
            .Field(new InputValue("nameContains", ScalarType.String).WithDefault(""))
            .Field(new InputValue("limit", ScalarType.Int).WithDefault(10L));
        ObjectType? query = null;
        query = new ObjectType("Query")
            .Field("pets", pet.NonNull().List().NonNull(), [new InputValue("filter", filter)], c =>
            {
                var f = c.Arguments.GetValueOrDefault("filter") as IReadOnlyDictionary<string, object?>;
                return pets.Where(p => f?["species"] is not string s || p.Species == s)
                    .Where(p => p.Name.Contains(f?["nameContains"] as string ?? "", StringComparison.Ordinal))
                    .Take(f?["limit"] as int? ?? 10).ToArray();
            })
            .Field("pet", pet, [new InputValue("name", ScalarType.String.NonNull())], c => pets.FirstOrDefault(p => p.Name == (string?)c.Arguments["name"]))
            .Field("anything", anything.List(), _ => pets.Cast<object?>().Append(null).ToArray())
            .Field("numbers", ScalarType.Int.NonNull().List().List(), [new InputValue("count", ScalarType.Int).WithDefault(3L)], c =>
            {
                var count = c.Arguments.TryGetValue("count", out var v) && v is int n ? n : 0;
                return Enumerable.Range(0, count).Select(i => Enumerable.Range(0, i).ToArray()).ToArray();
            })
            .Field("broken", ScalarType.String.NonNull(), _ => null)
            .Field("throws", ScalarType.String, _ => throw new InvalidOperationException("internal detail"));
        query.Field("nested", query.NonNull(), _ => new object());
        var mutation = new ObjectType("Mutation")
            .Field("rename", pet, [new InputValue("from", ScalarType.String.NonNull()), new InputValue("to", ScalarType.String.NonNull())], c =>
            {
                var index = Array.FindIndex(pets, p => p.Name == (string)c.Arguments["from"]!);
                if (index < 0)
                    return null;
                pets[index] = pets[index] with { Name = (string)c.Arguments["to"]! };
                return pets[index];
            });
        return new GraphQLSchema(query, mutation) { Unions = [anything], ExtraTypes = [url] };
    }

    private static readonly string[] PetFields = ["name", "species", "__typename"];
    private static readonly string[] DogFields = ["barks", "homepage", "name"];
    private static readonly string[] CatFields = ["lives", "livesLeft", "name"];

    /// <summary>Valid documents: random selections with aliases, inline fragments, named fragments, @skip/@include, nested lists.</summary>
    private static string ValidDocument(Random r)
    {
        var fragments = new StringBuilder();
        string PetSelection()
        {
            var parts = new List<string>();
            foreach (var f in PetFields)
                if (r.Next(2) == 0) parts.Add((r.Next(4) == 0 ? "a" + r.Next(9) + ": " : "") + f);
            if (r.Next(2) == 0) parts.Add("... on Dog { " + string.Join(" ", DogFields.Where(_ => r.Next(2) == 0).DefaultIfEmpty("barks")) + " }");
            if (r.Next(2) == 0) parts.Add("... on Cat { " + string.Join(" ", CatFields.Where(_ => r.Next(2) == 0).DefaultIfEmpty("lives")) + " }");
            if (r.Next(4) == 0) parts.Add("name @skip(if: " + (r.Next(2) == 0 ? "true" : "false") + ")");
            if (r.Next(4) == 0) parts.Add("species @include(if: " + (r.Next(2) == 0 ? "true" : "false") + ")");
            if (parts.Count == 0) parts.Add("name");
            return "{ " + string.Join(" ", parts) + " }";
        }
        string QuerySelection(int depth)
        {
            var parts = new List<string>();
            if (r.Next(2) == 0) parts.Add("pets " + PetSelection());
            if (r.Next(3) == 0) parts.Add("pet(name: \"" + (r.Next(3) == 0 ? "Nobody" : "Tom") + "\") " + PetSelection());
            if (r.Next(3) == 0) parts.Add("anything { __typename ... on Dog { name barks } ... on Cat { name } }");
            if (r.Next(3) == 0) parts.Add("numbers" + (r.Next(2) == 0 ? "(count: " + r.Next(5) + ")" : ""));
            if (r.Next(6) == 0) parts.Add("broken");
            if (r.Next(6) == 0) parts.Add("throws");
            if (depth < 3 && r.Next(3) == 0) parts.Add("nested " + QuerySelection(depth + 1));
            if (parts.Count == 0) parts.Add("__typename");
            return "{ " + string.Join(" ", parts) + " }";
        }
        var body = QuerySelection(0);
        if (r.Next(3) == 0)
        {
            body = "{ ...Q }";
            fragments.Append(" fragment Q on Query " + QuerySelection(0));
        }
        return (r.Next(2) == 0 ? "query Q" + r.Next(100) + " " : "") + body + fragments;
    }

    [Fact]
    public async Task Generated_documents_give_the_same_data_errors_and_error_paths_as_graphql_js()
    {
        var random = new Random(20211026);
        var corpus = Enumerable.Range(0, 1000).Select(_ => ValidDocument(random)).ToList();
        var expected = await RunGraphQLJsAsync(corpus);

        var executor = new Executor();
        var mismatches = new List<string>();
        for (var i = 0; i < corpus.Count; i++)
        {
            var ours = JsonNode.Parse((await executor.ExecuteAsync(BuildSchema(Data()), new GraphQLRequest(corpus[i]))).ToJson())!;
            var theirs = expected[i]!;
            if (!JsonNode.DeepEquals(ours["data"], theirs["data"]) || (ours["errors"] is null) != (theirs["errors"] is null)
                || Paths(ours) != Paths(theirs))
                mismatches.Add($"document: {corpus[i]}\n  graphql-js: {theirs.ToJsonString()}\n  ours:       {ours.ToJsonString()}");
        }
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {corpus.Count} documents differ:\n" + string.Join("\n", mismatches.Take(20)));
    }

    private static string Paths(JsonNode result) =>
        result["errors"] is JsonArray errors
            ? string.Join(";", errors.Select(e => e?["path"]?.ToJsonString() ?? "-").Order(StringComparer.Ordinal))
            : "";

    private static async Task<JsonArray> RunGraphQLJsAsync(IReadOnlyList<string> corpus)
    {
        var start = new ProcessStartInfo("node", [Path.Combine(RepoPaths.NodeTests, "graphql-diff", "run.mjs")])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            WorkingDirectory = Path.Combine(RepoPaths.NodeTests, "graphql-diff"),
        };
        using var node = Process.Start(start)!;
        await node.StandardInput.WriteAsync(JsonSerializer.Serialize(corpus.Select(q => new { query = q })));
        node.StandardInput.Close();
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, $"graphql-js runner failed (is `npm ci` done in tests/node?): {await stderr}");
        return JsonNode.Parse(await stdout)!.AsArray();
    }
}
