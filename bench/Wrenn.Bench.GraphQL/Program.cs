using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Wrenn.GraphQL.Engine.Execution;

// parse+validate+execute per second for a small and a large query, ours next to graphql-js in the same run.
// Usage: dotnet run -c Release --project bench/Wrenn.Bench.GraphQL [seconds]; writes bench/results/graphql.md.
var seconds = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 3;
var root = FindRoot();

var large = new StringBuilder("{ ");
for (var i = 0; i < 40; i++)
    large.Append($"p{i}: pets {{ name species ... on Dog {{ barks homepage }} ... on Cat {{ livesLeft }} }} n{i}: nested {{ anything {{ __typename ... on Dog {{ name }} }} }} ");
large.Append('}');
var queries = new Dictionary<string, string>
{
    ["small"] = "{ pet(name: \"Tom\") { name species } }",
    ["large"] = large.ToString(),
};

var schema = BenchSchema.Build();
var executor = new Executor();
var ours = new Dictionary<string, double>();
foreach (var (name, query) in queries)
{
    for (var i = 0; i < 200; i++)
        await Once(query);
    var n = 0;
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed.TotalSeconds < seconds)
    {
        await Once(query);
        n++;
    }
    ours[name] = n / clock.Elapsed.TotalSeconds;
}

var node = Process.Start(new ProcessStartInfo("node", [Path.Combine(root, "tests/node/graphql-diff/bench.mjs"), seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)])
{
    RedirectStandardInput = true, RedirectStandardOutput = true,
})!;
await node.StandardInput.WriteAsync(JsonSerializer.Serialize(queries));
node.StandardInput.Close();
var js = JsonSerializer.Deserialize<Dictionary<string, double>>(await node.StandardOutput.ReadToEndAsync())!;
await node.WaitForExitAsync();

var md = new StringBuilder("# GraphQL: parse + validate + execute per second\n\n")
    .Append($"{Environment.ProcessorCount} cores, {seconds} s per measurement after 200 warmup runs, one thread, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.\n")
    .Append("Both validate every rule of the specification before executing.\n\n")
    .Append("| query | Wrenn.GraphQL.Engine ops/s | graphql-js ops/s |\n|---|---:|---:|\n");
foreach (var name in queries.Keys)
    md.Append($"| {name} | {ours[name]:N0} | {js[name]:N0} |\n");
Directory.CreateDirectory(Path.Combine(root, "bench/results"));
File.WriteAllText(Path.Combine(root, "bench/results/graphql.md"), md.ToString());
Console.Write(md);

async Task Once(string query)
{
    var result = await executor.ExecuteAsync(schema, new GraphQLRequest(query));
    if (result.ToJson().Contains("\"errors\"", StringComparison.Ordinal))
        throw new InvalidOperationException("Benchmark query failed: " + result.ToJson());
}

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Wrenn.slnx")))
            return dir.FullName;
    throw new InvalidOperationException("Run the benchmark from a Wrenn checkout.");
}

/// <summary>The in-memory schema of tests/node/graphql-diff/schema.mjs (the parts the queries use).</summary>
internal static class BenchSchema
{
    private sealed record Pet(string Type, string Name, string Species, bool Barks = false, string? Homepage = null, int? LivesLeft = null);

    public static GraphQLSchema Build()
    {
        Pet[] pets = [new("Dog", "Rex", "DOG", true, "https://rex.example"), new("Cat", "Tom", "CAT", LivesLeft: 7), new("Dog", "Fido", "DOG")];
        ObjectType? dog = null, cat = null;
        var species = new EnumType("Species", "DOG", "CAT", "BIRD");
        var url = new ScalarType("Url", v => v.ToString()!);
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
            .Field("livesLeft", ScalarType.Int, c => ((Pet)c.Source!).LivesLeft);
        var anything = new UnionType("Anything", v => ((Pet)v).Type == "Dog" ? dog : cat, dog, cat);
        var query = new ObjectType("Query")
            .Field("pets", pet.NonNull().List().NonNull(), _ => pets)
            .Field("pet", pet, [new InputValue("name", ScalarType.String.NonNull())], c => pets.FirstOrDefault(p => p.Name == (string?)c.Arguments["name"]))
            .Field("anything", anything.List(), _ => pets);
        query.Field("nested", query.NonNull(), _ => new object());
        return new GraphQLSchema(query) { Unions = [anything] };
    }
}
