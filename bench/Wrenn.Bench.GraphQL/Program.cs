using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GraphQL;
using GraphQL.Execution;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wrenn.Bench.GraphQL;
using Wrenn.GraphQL;
using Wrenn.GraphQL.Backend;
using Wrenn.GraphQL.Execution;
using Wrenn.GraphQL.RateLimiting;

// In one run: parse + validate + execute per second for a small and a large query, GraphQL.NET (as Wrenn's
// API runs it: its limits, then the executer, then JSON) next to graphql-js; and a small query over HTTP
// through Wrenn's API next to a bare Kestrel endpoint answering the same JSON.
// Usage: dotnet run -c Release --project bench/Wrenn.Bench.GraphQL [seconds]; writes bench/results/graphql.md.
var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 3;
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

// 1. parse + validate + execute (+ JSON), one thread.
var services = new ServiceCollection();
services.AddOptions<WrennApiOptions>();
services.AddGraphQL(b => b.AddSchema<BenchSchema>().AddSystemTextJson());
services.AddSingleton<IDocumentBuilder, DocumentLimits>();
using var provider = services.BuildServiceProvider();
var executer = provider.GetRequiredService<IDocumentExecuter>();
var schema = provider.GetRequiredService<GraphQL.Types.ISchema>();
var serializer = provider.GetRequiredService<IGraphQLTextSerializer>();
async Task Once(string query)
{
    var result = await executer.ExecuteAsync(new ExecutionOptions { Schema = schema, Query = query });
    var json = serializer.Serialize(result);
    if (json.Contains("\"errors\"", StringComparison.Ordinal))
        throw new InvalidOperationException("Benchmark query failed: " + json);
}
var ours = new Dictionary<string, double>();
foreach (var (name, query) in queries)
    ours[name] = await RatePerSecond(() => Once(query), seconds);

var node = Process.Start(new ProcessStartInfo("node", [Path.Combine(root, "tests/node/graphql-diff/bench.mjs"), seconds.ToString(CultureInfo.InvariantCulture)])
{
    RedirectStandardInput = true, RedirectStandardOutput = true,
})!;
await node.StandardInput.WriteAsync(JsonSerializer.Serialize(queries));
node.StandardInput.Close();
var js = JsonSerializer.Deserialize<Dictionary<string, double>>(await node.StandardOutput.ReadToEndAsync())!;
await node.WaitForExitAsync();

// 2. a small query over HTTP: Wrenn's API against a bare endpoint with the same answer.
const string httpQuery = "{ me { id name createdAt } }";
await using var api = await StartAsync(builder =>
{
    builder.Services.AddSingleton<IWrennBackend, BenchBackend>();
    builder.Services.AddWrennApi();
    // The bench's one key asks thousands of times a second: its rate limiter stays in the path, at a limit it never reaches.
    builder.Services.Configure<RateLimitOptions>(o => o.RequestsPerSecond = 1_000_000_000);
}, app => app.MapWrennApi());
var expected = await PostAsync(api, httpQuery);
await using var bare = await StartAsync(_ => { }, app => app.MapPost("/graphql", async (HttpContext context) =>
{
    using var body = await JsonDocument.ParseAsync(context.Request.Body);
    context.Response.ContentType = "application/graphql-response+json; charset=utf-8";
    await context.Response.WriteAsync(expected);
}));
if (await PostAsync(bare, httpQuery) != expected)
    throw new InvalidOperationException("The bare endpoint must answer what the API answers.");
var viaApi = await Latencies(() => PostAsync(api, httpQuery), seconds);
var viaBare = await Latencies(() => PostAsync(bare, httpQuery), seconds);

var md = new StringBuilder("# GraphQL: parse + validate + execute per second, and a query over HTTP\n\n")
    .Append($"`dotnet run -c Release --project bench/Wrenn.Bench.GraphQL -- {seconds.ToString(CultureInfo.InvariantCulture)}` on {Environment.ProcessorCount} cores, ")
    .Append($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {seconds} s per measurement after warm-up, one request at a time.\n\n")
    .Append("Wrenn's API runs on GraphQL.NET 8.8.5. Every run parses (with Wrenn's limits), validates every rule and executes; ours also writes the JSON.\n\n")
    .Append("| query | GraphQL.NET (Wrenn's API path) ops/s | graphql-js 16 ops/s |\n|---|---:|---:|\n");
foreach (var name in queries.Keys)
    md.Append($"| {name} | {ours[name]:N0} | {js[name]:N0} |\n");
md.Append($"\n`{httpQuery}` over HTTP/1.1 on loopback (the backend answers from memory):\n\n")
    .Append("| endpoint | requests/s | p50 | p99 |\n|---|---:|---:|---:|\n")
    .Append($"| Wrenn's API (/graphql: auth, rate limit, limits, GraphQL.NET, JSON) | {viaApi.Rate:N0} | {viaApi.P50:0.000} ms | {viaApi.P99:0.000} ms |\n")
    .Append($"| bare Kestrel endpoint, same JSON | {viaBare.Rate:N0} | {viaBare.P50:0.000} ms | {viaBare.P99:0.000} ms |\n");
var path = Path.Combine(root, "bench/results/graphql.md");
const string kept = "## Before: Wrenn.GraphQL.Engine";
if (File.Exists(path) && File.ReadAllText(path) is var previous && previous.IndexOf(kept, StringComparison.Ordinal) is var at and >= 0)
    md.Append('\n').Append(previous[at..]);
File.WriteAllText(path, md.ToString());
Console.Write(md);

static async Task<double> RatePerSecond(Func<Task> once, double seconds)
{
    for (var i = 0; i < 200; i++)
        await once();
    var n = 0;
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed.TotalSeconds < seconds)
    {
        await once();
        n++;
    }
    return n / clock.Elapsed.TotalSeconds;
}

static async Task<(double Rate, double P50, double P99)> Latencies(Func<Task<string>> once, double seconds)
{
    for (var i = 0; i < 500; i++)
        await once();
    var times = new List<double>();
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed.TotalSeconds < seconds)
    {
        var start = Stopwatch.GetTimestamp();
        await once();
        times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }
    var rate = times.Count / clock.Elapsed.TotalSeconds;
    times.Sort();
    return (rate, times[times.Count / 2], times[(int)(times.Count * 0.99)]);
}

static async Task<Server> StartAsync(Action<WebApplicationBuilder> configure, Action<WebApplication> map)
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
    configure(builder);
    var app = builder.Build();
    map(app);
    await app.StartAsync();
    var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    var http = new HttpClient { BaseAddress = address };
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "wrn_bench");
    http.DefaultRequestHeaders.Accept.ParseAdd("application/graphql-response+json");
    return new Server(app, http);
}

static async Task<string> PostAsync(Server server, string query)
{
    using var content = new StringContent(JsonSerializer.Serialize(new { query }), Encoding.UTF8, "application/json");
    using var response = await server.Http.PostAsync("/graphql", content);
    response.EnsureSuccessStatusCode();
    return await response.Content.ReadAsStringAsync();
}

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Wrenn.slnx")))
            return dir.FullName;
    throw new InvalidOperationException("Run the benchmark from a Wrenn checkout.");
}

internal sealed record Server(WebApplication App, HttpClient Http) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
