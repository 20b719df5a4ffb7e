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
        var key = new InputObjectType("PetKey")
            .Field("name", ScalarType.String.NonNull())
            .Field("species", species);
        ObjectType? query = null;
        query = new ObjectType("Query")
            .Field("pets", pet.NonNull().List().NonNull(), [new InputValue("filter", filter)], c =>
            {
                var f = c.Arguments.GetValueOrDefault("filter") as IReadOnlyDictionary<string, object?>;
                return pets.Where(p => f?.GetValueOrDefault("species") is not string s || p.Species == s)
                    .Where(p => p.Name.Contains(f?.GetValueOrDefault("nameContains") as string ?? "", StringComparison.Ordinal))
                    .Take(f?.GetValueOrDefault("limit") as int? ?? 10).ToArray();
            })
            .Field("pet", pet, [new InputValue("name", ScalarType.String.NonNull())], c => pets.FirstOrDefault(p => p.Name == (string?)c.Arguments["name"]))
            .Field("petBy", pet, [new InputValue("key", key.NonNull())], c =>
            {
                var k = (IReadOnlyDictionary<string, object?>)c.Arguments["key"]!;
                return pets.FirstOrDefault(p => p.Name == (string?)k["name"] && (k.GetValueOrDefault("species") is not string s || p.Species == s));
            })
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
            if (r.Next(4) == 0) parts.Add("petBy(key: {name: \"Rex\"" + (r.Next(2) == 0 ? ", species: DOG" : ", species: CAT") + "}) " + PetSelection());
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

    /// <summary>Documents broken on purpose, one family per validation rule of spec section 5 (and coercion of variables).</summary>
    private static readonly (string Rule, string Query, string? Variables)[] Broken =
    [
        ("5.1.1 executable definitions", "{ numbers } type Extra { a: Int }", null),
        ("5.2.1.1 operation name uniqueness", "query A { numbers } query A { broken }", null),
        ("5.2.2.1 lone anonymous operation", "{ numbers } query B { numbers }", null),
        ("5.2.3.1 single root field", "subscription S { a b }", null),
        ("5.3.1 field selections", "{ pets { nope } }", null),
        ("5.3.1 field selections on unions", "{ anything { name } }", null),
        ("5.3.2 field merging: different fields", "{ pets { a: name a: species } }", null),
        ("5.3.2 field merging: differing arguments", "{ numbers(count: 1) numbers(count: 2) }", null),
        ("5.3.2 field merging: conflicting types", "{ anything { ... on Dog { x: barks } ... on Cat { x: lives } } }", null),
        ("5.3.2 field merging: subfields", "{ pet(name: \"Tom\") { name } pet(name: \"Tom\") { name: species } }", null),
        ("5.3.3 leaf selections: missing", "{ pets }", null),
        ("5.3.3 leaf selections: on a scalar", "{ numbers { x } }", null),
        ("5.4.1 argument names", "{ numbers(nope: 1) }", null),
        ("5.4.1 argument names on directives", "{ numbers @skip(if: true, unless: false) }", null),
        ("5.4.2 argument uniqueness", "{ numbers(count: 1, count: 2) }", null),
        ("5.4.2.1 required arguments", "{ pet { name } }", null),
        ("5.4.2.1 required directive arguments", "{ numbers @include }", null),
        ("5.5.1.1 fragment name uniqueness", "{ ...F } fragment F on Query { numbers } fragment F on Query { broken }", null),
        ("5.5.1.2 fragment spread type existence", "{ pets { ... on Nope { name } } }", null),
        ("5.5.1.3 fragments on composite types", "{ ...F } fragment F on Species { x }", null),
        ("5.5.1.4 fragments must be used", "{ numbers } fragment Unused on Query { numbers }", null),
        ("5.5.2.1 fragment spread target defined", "{ ...Missing }", null),
        ("5.5.2.2 fragment spreads must not form cycles", "{ ...A } fragment A on Query { nested { ...B } } fragment B on Query { nested { ...A } }", null),
        ("5.5.2.3 fragment spread is possible", "{ pets { ... on Query { numbers } } }", null),
        ("5.5.2.3 named fragment spread is possible", "{ pets { ...Q } } fragment Q on Query { numbers }", null),
        ("5.6.1 values of correct type: string for Int", "{ numbers(count: \"three\") }", null),
        ("5.6.1 values of correct type: float for Int", "{ numbers(count: 1.5) }", null),
        ("5.6.1 values of correct type: int for String", "{ pet(name: 1) { name } }", null),
        ("5.6.1 values of correct type: unknown enum value", "{ pets(filter: {species: LIZARD}) { name } }", null),
        ("5.6.1 values of correct type: string for enum", "{ pets(filter: {species: \"CAT\"}) { name } }", null),
        ("5.6.1 values of correct type: null for non-null", "{ pet(name: null) { name } }", null),
        ("5.6.2 input object field names", "{ pets(filter: {nope: 1}) { name } }", null),
        ("5.6.3 input object field uniqueness", "{ pets(filter: {limit: 1, limit: 2}) { name } }", null),
        ("5.6.4 input object required fields", "{ petBy(key: {species: CAT}) { name } }", null),
        ("5.6.4 input object required fields: null", "{ petBy(key: {name: null}) { name } }", null),
        ("5.6.4 input object required fields: variable", "query Q($k: PetKey!) { petBy(key: $k) { name } }", """{"k": {"species": "DOG"}}"""),
        ("5.7.1 directives are defined", "{ numbers @nope }", null),
        ("5.7.2 directives in valid locations", "query Q @skip(if: true) { numbers }", null),
        ("5.7.3 directives unique per location", "{ numbers @skip(if: false) @skip(if: false) }", null),
        ("5.8.1 variable uniqueness", "query Q($a: Int, $a: Int) { numbers(count: $a) }", null),
        ("5.8.2 variables are input types", "query Q($a: Pet) { numbers }", null),
        ("5.8.2 variable of an unknown type", "query Q($a: Nope) { numbers }", null),
        ("5.8.3 all variable uses defined", "{ numbers(count: $x) }", null),
        ("5.8.3 all variable uses defined in fragments", "query Q { ...F } fragment F on Query { numbers(count: $x) }", null),
        ("5.8.4 all variables used", "query Q($a: Int) { numbers }", null),
        ("5.8.5 variable usages allowed: type", "query Q($a: String) { numbers(count: $a) }", null),
        ("5.8.5 variable usages allowed: nullability", "query Q($n: String) { pet(name: $n) { name } }", null),
        ("5.8.5 variable usages allowed: in a fragment", "query Q($a: Boolean) { ...F } fragment F on Query { numbers(count: $a) }", null),
        ("6.1.2 variable of the wrong type", "query Q($c: Int) { numbers(count: $c) }", """{"c": "three"}"""),
        ("6.1.2 required variable missing", "query Q($n: String!) { pet(name: $n) { name } }", "{}"),
        ("6.1.2 required variable null", "query Q($n: String!) { pet(name: $n) { name } }", """{"n": null}"""),
        ("6.1.2 input object variable with an unknown field", "query Q($f: PetFilter) { pets(filter: $f) { name } }", """{"f": {"nope": 1}}"""),
        ("6.1.2 enum variable with an unknown value", "query Q($f: PetFilter) { pets(filter: $f) { name } }", """{"f": {"species": "LIZARD"}}"""),
    ];

    /// <summary>Valid documents that exercise coercion: arguments, input objects with defaults, variables, list coercion.</summary>
    private static readonly (string Query, string? Variables)[] Coerced =
    [
        ("{ pets(filter: {species: CAT}) { name } }", null),
        ("{ pets(filter: {nameContains: \"o\", limit: 1}) { name } }", null),
        ("query Q($c: Int = 2) { numbers(count: $c) }", null),
        ("query Q($c: Int = 2) { numbers(count: $c) }", """{"c": 4}"""),
        ("query Q($f: PetFilter) { pets(filter: $f) { name species } }", """{"f": {"species": "DOG", "limit": 1}}"""),
        ("query Q($n: String!) { pet(name: $n) { name } }", """{"n": "Rex"}"""),
        ("query Q($s: Species) { pets(filter: {species: $s}) { name } }", """{"s": "CAT"}"""),
        ("query Q($s: Species) { pets(filter: {species: $s}) { name } }", null),
        ("mutation { rename(from: \"Tom\", to: \"Tim\") { name } }", null),
        ("mutation M($to: String!) { first: rename(from: \"Rex\", to: $to) { name } second: rename(from: $to, to: \"Max\") { name } }", """{"to": "Bo"}"""),
        ("{ numbers(count: null) }", null),
        ("{ __typename pets { __typename } }", null),
    ];

    [Fact]
    public async Task Generated_documents_give_the_same_data_errors_and_error_paths_as_graphql_js()
    {
        var random = new Random(20211026);
        var corpus = new List<(string Query, string? Variables)>();
        for (var i = 0; i < 1200; i++)
        {
            corpus.Add((i % 4) switch
            {
                0 => Broken[i / 4 % Broken.Length] is var b ? (b.Query, b.Variables) : default,
                1 when i % 8 == 1 => Coerced[i / 8 % Coerced.Length],
                _ => (ValidDocument(random), null),
            });
        }
        Assert.True(corpus.Count(c => Broken.Any(b => b.Query == c.Query)) >= Broken.Length * 5, "every rule is broken at least five times");
        var expected = await RunGraphQLJsAsync(corpus);

        // Every broken document is refused by graphql-js (so the corpus breaks what it claims to break).
        for (var i = 0; i < corpus.Count; i++)
        {
            if (Broken.Any(b => b.Query == corpus[i].Query && b.Variables == corpus[i].Variables))
                Assert.True(expected[i]!["errors"] is not null, $"graphql-js accepts a document meant to be broken: {corpus[i].Query}");
        }

        var executor = new Executor();
        var mismatches = new List<string>();
        for (var i = 0; i < corpus.Count; i++)
        {
            var variables = corpus[i].Variables is { } json
                ? JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!.ToDictionary(kv => kv.Key, kv => (object?)kv.Value)
                : null;
            var ours = JsonNode.Parse((await executor.ExecuteAsync(BuildSchema(Data()), new GraphQLRequest(corpus[i].Query, null, variables))).ToJson())!;
            var theirs = expected[i]!;
            if (!JsonNode.DeepEquals(ours["data"], theirs["data"]) || (ours["errors"] is null) != (theirs["errors"] is null)
                || Paths(ours) != Paths(theirs))
                mismatches.Add($"document: {corpus[i].Query} variables: {corpus[i].Variables}\n  graphql-js: {theirs.ToJsonString()}\n  ours:       {ours.ToJsonString()}");
        }
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {corpus.Count} documents differ:\n" + string.Join("\n", mismatches.Take(20)));
    }

    private static string Paths(JsonNode result) =>
        result["errors"] is JsonArray errors
            ? string.Join(";", errors.Select(e => e?["path"]?.ToJsonString() ?? "-").Order(StringComparer.Ordinal))
            : "";

    private static async Task<JsonArray> RunGraphQLJsAsync(IReadOnlyList<(string Query, string? Variables)> corpus)
    {
        var start = new ProcessStartInfo("node", [Path.Combine(RepoPaths.NodeTests, "graphql-diff", "run.mjs")])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            WorkingDirectory = Path.Combine(RepoPaths.NodeTests, "graphql-diff"),
        };
        using var node = Process.Start(start)!;
        await node.StandardInput.WriteAsync(JsonSerializer.Serialize(corpus.Select(c => new
        {
            query = c.Query,
            variables = c.Variables is null ? null : JsonNode.Parse(c.Variables),
        })));
        node.StandardInput.Close();
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, $"graphql-js runner failed (is `npm ci` done in tests/node?): {await stderr}");
        return JsonNode.Parse(await stdout)!.AsArray();
    }
}
