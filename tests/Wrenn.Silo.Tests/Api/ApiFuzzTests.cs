using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Wrenn.Silo.Tests.Api;

/// <summary>
/// Malformed and hostile documents (10,000 by default, WRENN_FUZZ_DOCUMENTS to change) sent to the silo
/// over HTTP: each gets an answer with errors and a 4xx or 200 status, never a 500, an INTERNAL error or
/// a crash; the silo serves a normal query afterwards.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class ApiFuzzTests(ApiFixture api)
{
    private static readonly string[] Seeds =
    [
        "{ me { name createdAt } templates { name kind vcpus } }",
        "query Page($n: Int = 2) { sandboxes(first: $n) { nodes { id state template { name } host { name } } pageInfo { hasNextPage endCursor } } }",
        "{ a: sandbox(id: \"sb-00000000-0000-0000-0000-000000000000\") { id } b: template(name: \"base\") { ...T } } fragment T on Template { id name public }",
        "{ hosts { name live vcpus } __typename me { ... on Team { id } } }",
        "query { templates @include(if: true) { name @skip(if: false) sandboxes } }",
    ];

    [Fact]
    public async Task Every_malformed_or_hostile_document_gets_errors_never_a_500_and_the_silo_keeps_serving()
    {
        var count = int.TryParse(Environment.GetEnvironmentVariable("WRENN_FUZZ_DOCUMENTS"), out var n) ? n : 10_000;
        var random = new Random(14);
        var team = await ApiTeam.CreateAsync(api);
        var failures = new List<string>();
        for (var i = 0; i < count && failures.Count < 10; i++)
        {
            var (kind, query, variables) = Document(random, i);
            var body = new JsonObject { ["query"] = query };
            if (variables is not null)
                body["variables"] = JsonNode.Parse(variables);
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(api.BaseAddress, "/graphql")) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new("Bearer", team.Key);
            request.Headers.Accept.ParseAdd("application/graphql-response+json");
            using var response = await api.Http.SendAsync(request);
            var status = response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            var answer = Json(text);
            var hostile = kind != "mutated";
            if ((int)status >= 500 || answer is null || text.Contains("\"INTERNAL\"", StringComparison.Ordinal) || (hostile && answer["errors"] is null)
                || (answer["errors"] is null && answer["data"] is null))
                failures.Add($"{kind} #{i} ({status}): {query[..Math.Min(300, query.Length)]}\n  answer: {text[..Math.Min(500, text.Length)]}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures) + "\nlogged:\n" + string.Join("\n", api.Errors.Entries.Take(5)));
        var (okStatus, ok) = await api.GraphQLAsync(team.Key, "{ me { id } }");
        Assert.Equal(HttpStatusCode.OK, okStatus);
        Assert.Null(ok["errors"]);
    }

    private static JsonObject? Json(string text)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static (string Kind, string Query, string? Variables) Document(Random random, int i)
    {
        var seed = Seeds[random.Next(Seeds.Length)];
        switch (i % 12)
        {
            case 0:
                var depth = random.Next(65, 20_000);
                return ("deep", new string('{', depth) + "me" + new string('}', depth), null);
            case 1:
                var aliases = new StringBuilder("{ ");
                for (var a = random.Next(501, 3_000); a > 0; a--)
                    aliases.Append($"a{a}: me {{ name }} ");
                return ("alias flood", aliases.Append('}').ToString(), null);
            case 2:
                var levels = random.Next(20, 60);
                var bomb = new StringBuilder("{ ...F0 }");
                for (var f = 0; f < levels; f++)
                    bomb.Append($" fragment F{f} on Query {{ {(f < levels - 1 ? $"...F{f + 1} ...F{f + 1} ...F{f + 1}" : "me { name }")} }}");
                return ("fragment bomb", bomb.ToString(), null);
            case 3:
                var chain = new StringBuilder("{ ...F0 }");
                var length = random.Next(100, 5_000);
                for (var f = 0; f < length; f++)
                    chain.Append($" fragment F{f} on Query {{ {(f < length - 1 ? $"...F{f + 1}" : "me { name }")} }}");
                return ("fragment chain", chain.ToString(), null);
            case 4:
                return ("cycle", "{ ...A } fragment A on Query { ...B } fragment B on Query { me { name } ...A }", null);
            case 5:
                return ("huge token", "{ me(" + new string('x', random.Next(10_000, 900_000)) + ": 1) { name } }", null);
            case 6:
                return ("unterminated string", "{ template(name: \"" + new string('\\', random.Next(1, 5_000)) + ") { id } }", null);
            case 7:
                return ("variable list flood", "query ($args: [String!]) { me { name } }",
                    "{\"args\": [" + string.Join(",", Enumerable.Repeat("\"x\"", 100_001)) + "]}");
            case 8:
                return ("random bytes", new string(Enumerable.Range(0, random.Next(1, 400)).Select(_ => (char)random.Next(1, 0x2FF)).ToArray()), null);
            case 9:
                return ("wrong variables", "query ($n: Int!) { sandboxes(first: $n) { nodes { id } } }",
                    random.Next(3) switch { 0 => "{\"n\": \"ten\"}", 1 => "{\"n\": 1e400}", _ => "{}" });
            default:
                var text = new StringBuilder(seed);
                switch (random.Next(4))
                {
                    case 0:
                        for (var k = random.Next(1, 6); k > 0; k--)
                            text[random.Next(text.Length)] = (char)random.Next(0, 128);
                        break;
                    case 1:
                        text.Length = random.Next(text.Length);
                        break;
                    case 2:
                        for (var k = random.Next(1, 4); k > 0; k--)
                            text.Insert(random.Next(text.Length + 1), "{}()[]:$@!.\"=|&"[random.Next(15)]);
                        break;
                    default:
                        text.Insert(random.Next(text.Length + 1), " " + new string('a', random.Next(1, 50)) + " ");
                        break;
                }
                return ("mutated", text.ToString(), null);
        }
    }
}
