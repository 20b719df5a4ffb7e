using System.Diagnostics;
using System.Text;
using Wrenn.GraphQL.Engine.Execution;
using Wrenn.GraphQL.Engine.Language;

namespace Wrenn.GraphQL.Engine.Tests.Fuzz;

/// <summary>
/// Random and mutated documents (byte flips, truncations, deep nesting, huge tokens) through parse and
/// execute for a bounded time (WRENN_FUZZ_SECONDS, default 10): only GraphQL errors, no hang, bounded memory.
/// </summary>
public sealed class DocumentFuzzTests
{
    private static readonly string[] Seeds =
    [
        "query Q($n: String = \"x\") { hero { name friends { name ... on Droid { id } } } }",
        "{ a: hero { ...F } b: hero @skip(if: true) { name } } fragment F on Character { name id }",
        "mutation { rename(name: \"\"\"block\n string\"\"\") }",
        "{ hero { name @include(if: false) friends { friends { friends { name } } } } }",
        "query { hero(list: [1, 2.5e3, true, null, ENUM, {a: \"\\u00e9\"}]) { name } }",
    ];

    private static GraphQLSchema BuildSchema()
    {
        ObjectType? character = null;
        character = new ObjectType("Character")
            .Field("name", ScalarType.String.NonNull(), _ => "R2")
            .Field("id", ScalarType.String, _ => null)
            .Field("friends", new ObjectType("Lazy").Field("name", ScalarType.String, _ => "x").List(), _ => new object[] { 1, 2 });
        var query = new ObjectType("Query").Field("hero", character, _ => new object());
        var mutation = new ObjectType("Mutation").Field("rename", ScalarType.String, _ => throw new InvalidOperationException("internal"));
        return new GraphQLSchema(query, mutation, null);
    }

    [Fact]
    public async Task Mutated_documents_give_only_graphql_errors_without_hangs_or_unbounded_memory()
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("WRENN_FUZZ_SECONDS"), out var s) ? s : 10;
        var schema = BuildSchema();
        var executor = new Executor();
        var random = new Random(5);
        var clock = Stopwatch.StartNew();
        var runs = 0;
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            var doc = Mutate(random, Seeds[random.Next(Seeds.Length)]);
            try
            {
                Parser.Parse(doc);
            }
            catch (GraphQLSyntaxException)
            {
                // expected for most mutations
            }
            catch (Exception e)
            {
                Assert.Fail($"Parser threw {e.GetType().Name} for document:\n{doc}\n{e}");
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var execution = executor.ExecuteAsync(schema, new GraphQLRequest(doc, null, null), timeout.Token);
            var finished = await Task.WhenAny(execution, Task.Delay(TimeSpan.FromSeconds(10)));
            Assert.True(finished == execution, $"Execution hung (>10 s) on document:\n{doc}");
            ExecutionResult result;
            try
            {
                result = await execution;
            }
            catch (Exception e)
            {
                Assert.Fail($"Executor threw {e.GetType().Name} for document:\n{doc}\n{e}");
                throw;
            }
            var json = result.ToJson();
            Assert.DoesNotContain("internal", json);
            runs++;
        }
        var grown = GC.GetTotalMemory(forceFullCollection: true) - baseline;
        Assert.True(grown < 256L << 20, $"Managed memory grew by {grown >> 20} MiB over {runs} documents.");
        Assert.True(runs > 0);
    }

    private static string Mutate(Random random, string seed)
    {
        var sb = new StringBuilder(seed);
        switch (random.Next(6))
        {
            case 0:
                for (var i = random.Next(1, 6); i > 0 && sb.Length > 0; i--)
                    sb[random.Next(sb.Length)] = (char)random.Next(0, 128);
                break;
            case 1:
                sb.Length = random.Next(sb.Length + 1);
                break;
            case 2:
                var depth = random.Next(10, 5000);
                return new string('{', depth) + "hero" + new string('}', depth);
            case 3:
                var n = random.Next(10, 3000);
                sb.Clear().Append("{ ");
                for (var i = 0; i < n; i++)
                    sb.Append("hero { ");
                sb.Append("name");
                sb.Append(' ', 1).Append(new string('}', n)).Append(" }");
                break;
            case 4:
                sb.Insert(random.Next(sb.Length + 1), random.Next(2) == 0 ? new string('a', random.Next(1, 200_000)) : "\"" + new string('\\', random.Next(1, 1000)));
                break;
            default:
                for (var i = random.Next(1, 4); i > 0; i--)
                    sb.Insert(random.Next(sb.Length + 1), "{}()[]:$@!.\"="[random.Next(13)]);
                break;
        }
        return sb.ToString();
    }
}
