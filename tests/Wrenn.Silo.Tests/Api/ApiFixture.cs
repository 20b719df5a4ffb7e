using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wrenn.GraphQL.Backend;
using Wrenn.Silo.Hosting;
using Wrenn.Silo.Tests.Sandboxes;
using Wrenn.Testing;

namespace Wrenn.Silo.Tests.Api;

/// <summary>The API test classes share one silo.</summary>
[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "Api";
}

/// <summary>A whole silo (real VMs) serving its public API on a loopback port, and an HTTP client for it.</summary>
public sealed class ApiFixture : IAsyncLifetime
{
    public ApiFixture() => Silo = new SiloFixture
    {
        Logging = logging => logging.AddProvider(Errors),
        Services = services => services.AddSingleton<IWrennBackend>(sp => Backend = new CountingBackend(sp.GetRequiredService<SiloApiBackend>())),
    };

    public SiloFixture Silo { get; }

    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromMinutes(5) };

    /// <summary>What the web app logged as errors (the API's unexpected exceptions, Kestrel's unhandled ones).</summary>
    public ErrorLog Errors { get; } = new();

    public string AdminKey => Silo.Host.FirstAdminKey!;

    /// <summary>The silo's backend as the API uses it, every call counted.</summary>
    public CountingBackend Backend { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Silo.InitializeAsync();
        BaseAddress = Silo.Host.ApiAddress;
    }

    /// <summary>POSTs a GraphQL request; returns the status and the parsed body.</summary>
    public async Task<(HttpStatusCode Status, JsonObject Body)> GraphQLAsync(string? key, string query, object? variables = null, string accept = "application/graphql-response+json")
    {
        var body = new JsonObject { ["query"] = query };
        if (variables is not null)
            body["variables"] = System.Text.Json.JsonSerializer.SerializeToNode(variables);
        return await PostAsync(key, body.ToJsonString(), accept);
    }

    public async Task<(HttpStatusCode Status, JsonObject Body)> PostAsync(string? key, string rawBody, string accept = "application/graphql-response+json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(BaseAddress, "/graphql")) { Content = new StringContent(rawBody, Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd(accept);
        if (key is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, (JsonNode.Parse(text) as JsonObject) ?? throw new InvalidOperationException($"not a JSON object: {text}"));
    }

    /// <summary>Runs one of tests/node/api's scripts; returns its JSON line.</summary>
    public static async Task<JsonObject> NodeAsync(string script, params string[] args)
    {
        var start = new ProcessStartInfo("node", [Path.Combine(RepoPaths.NodeTests, "api", script), .. args])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.Combine(RepoPaths.NodeTests, "api"),
        };
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await node.WaitForExitAsync(limit.Token);
        var output = await stdout;
        Assert.True(node.ExitCode == 0 && output.Length > 0, $"node {script} failed ({node.ExitCode}): {await stderr}");
        return (JsonNode.Parse(output) as JsonObject)!;
    }

    private readonly SemaphoreSlim _sharedSandboxLock = new(1, 1);
    private string? _sharedSandbox;

    /// <summary>
    /// One running sandbox of the admin team that test classes share where their tests do not disturb
    /// each other (processes, files, watches), made on first use; the silo destroys it at the end.
    /// </summary>
    public async Task<string> SharedSandboxAsync()
    {
        await _sharedSandboxLock.WaitAsync();
        try
        {
            return _sharedSandbox ??= await CreateSandboxAsync();
        }
        finally
        {
            _sharedSandboxLock.Release();
        }
    }

    /// <summary>Creates a sandbox through the API (inside the machine's VM gate); returns its id.</summary>
    public async Task<string> CreateSandboxAsync(string template = "base")
    {
        using var gate = await MachineGate.EnterAsync();
        var (_, created) = await GraphQLAsync(AdminKey, "mutation ($t: String!) { createSandbox(input: {template: $t, timeoutSeconds: 1800}) { id } }", new { t = template });
        return created["data"]?["createSandbox"]?["id"]?.GetValue<string>() ?? throw new InvalidOperationException($"createSandbox failed: {created.ToJsonString()}");
    }

    /// <summary>A request that must succeed: its data (the errors fail the test).</summary>
    public async Task<JsonNode> DataAsync(string query, object? variables = null)
    {
        var (_, body) = await GraphQLAsync(AdminKey, query, variables);
        Assert.True(body["errors"] is null, $"{query}: {body.ToJsonString()}");
        return body["data"]!;
    }

    /// <summary>A request that must fail: its first error's extensions.code and message.</summary>
    public async Task<(string? Code, string Message)> ErrorAsync(string query, object? variables = null)
    {
        var (_, body) = await GraphQLAsync(AdminKey, query, variables);
        var error = body["errors"]?[0] ?? throw new Xunit.Sdk.XunitException($"{query} succeeded: {body.ToJsonString()}");
        return (error["extensions"]?["code"]?.GetValue<string>(), error["message"]?.GetValue<string>() ?? "");
    }

    /// <summary>The last lines of a sandbox's VM console, for failure messages.</summary>
    public string ConsoleTail(string sandboxId, int lines = 30)
    {
        var log = Path.Combine("/run/wrenn", Silo.Owner, "vms", sandboxId, "console.log");
        return File.Exists(log) ? string.Join("\n", File.ReadLines(log).TakeLast(lines)) : $"(no console log at {log})";
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Silo.DisposeAsync();
    }
}
