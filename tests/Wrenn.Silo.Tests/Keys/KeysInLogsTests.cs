using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Wrenn.Silo.Tests.Api;
using Wrenn.Silo.Tests.Cluster;
using Wrenn.Silo.Tests.Sandboxes;
using Wrenn.Testing;

namespace Wrenn.Silo.Tests.Keys;

/// <summary>
/// No API key reaches a silo's log, whichever way a client uses (or misuses) it, except the first
/// admin key, printed once at the first start: checked on <c>wrenn run --verbose</c> as an operator
/// runs it, and on an in-process silo logging every category at Trace.
/// </summary>
public sealed class KeysInLogsTests
{
    [Fact]
    public async Task Wrenn_run_prints_the_first_admin_key_once_at_first_start_and_no_key_ever_after()
    {
        await HostSweep.RemoveLeftoversAsync();
        var owner = TestPrefix.NewOwner();
        var dataDir = $"/run/wrenn/{owner}-data";
        string[] options = ["--warm-base", "false", "--verbose"];
        WrennProcess? silo = null;
        try
        {
            silo = await WrennProcess.StartAsync(dataDir, null, owner, $"{owner}-silo", options);
            var adminKey = silo.FirstAdminKey ?? throw new InvalidOperationException($"no admin key printed:\n{silo.Output()}");
            var used = await UseKeysEveryWayAsync(silo.Api, adminKey);

            // A clean stop writes out all the silo had to say; then it starts again on its data.
            await silo.StopAsync();
            var firstRun = silo.Output();
            await silo.DisposeAsync();
            silo = await WrennProcess.StartAsync(dataDir, null, owner, $"{owner}-silo", options);
            await silo.StopAsync();
            var secondRun = silo.Output();

            Assert.Equal(1, firstRun.Split('\n').Count(l => l.Contains(adminKey, StringComparison.Ordinal)));
            Assert.Contains("First start: the admin team's API key", firstRun);
            Assert.DoesNotContain(adminKey, secondRun);
            AssertAbsent(used, firstRun + "\n" + secondRun);
        }
        finally
        {
            if (silo is not null)
                await silo.DisposeAsync();
            await MultiProcessClusterTests.RemoveEverythingOfAsync(owner);
        }
    }

    [Fact]
    public async Task No_key_reaches_an_in_process_silos_log_of_every_category_at_trace_level()
    {
        var log = new EverythingLog();
        var silo = new SiloFixture { Logging = logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(log) };
        await silo.InitializeAsync();
        var adminKey = silo.Host.FirstAdminKey!;
        string[] used;
        try
        {
            used = await UseKeysEveryWayAsync(silo.Host.ApiAddress, adminKey);
        }
        finally
        {
            await silo.DisposeAsync(); // the log is complete once the silo stopped
        }
        var text = log.Text();
        AssertAbsent([.. used, adminKey], text);
        // Not vacuous: the log saw the requests that carried the keys.
        Assert.Contains("/graphql", text);
        Assert.Contains("/files/", text);
    }

    /// <summary>A member key and a near miss of it, used every way a client uses a key; returns them.</summary>
    private static async Task<string[]> UseKeysEveryWayAsync(Uri api, string adminKey)
    {
        using var admin = new GraphQLClient(api, adminKey);
        var team = (await admin.DataAsync("mutation ($n: String!) { createTeam(name: $n) { id } }", new { n = $"logs-{Guid.NewGuid():N}"[..20] }))["createTeam"]!["id"]!.GetValue<string>();
        var created = (await admin.DataAsync("mutation ($t: String!, $e: DateTime) { createApiKey(team: $t, expiresAt: $e) { id key } }",
            new { t = team, e = DateTimeOffset.UtcNow.AddHours(1).ToString("O") }))["createApiKey"]!;
        var key = created["key"]!.GetValue<string>();
        var nearMiss = key[..^1] + (key[^1] == 'A' ? 'B' : 'A');

        using var member = new GraphQLClient(api, key);
        await member.DataAsync("{ me { id apiKeys { hint lastUsedAt } } }");
        await member.SendAsync("{ this is not GraphQL");
        await member.SendAsync("mutation { createTeam(name: \"not-allowed\") { id } }");
        await member.SendAsync("mutation { destroySandbox(id: \"sb-00000000-0000-0000-0000-000000000000\") }");
        using (var http = new HttpClient { BaseAddress = api })
        {
            foreach (var (path, bearer) in new[]
                     {
                         ($"/graphql?query={Uri.EscapeDataString("{ me { id } }")}", key),
                         ("/files/sb-00000000-0000-0000-0000-000000000000?path=/x", key),
                         ("/graphql?query=%7Bme%7Bid%7D%7D", nearMiss),
                     })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
                using var response = await http.SendAsync(request);
                Assert.NotEqual(HttpStatusCode.InternalServerError, response.StatusCode);
            }
        }
        await using (var ws = await GraphQLWsClient.ConnectAsync(api, key))
        {
            await ws.SubscribeAsync("1", "subscription { sandboxEvents(sandboxId: \"sb-00000000-0000-0000-0000-000000000000\") { state } }");
            await ws.ReceiveAsync(TimeSpan.FromSeconds(30));
        }
        using (var wrong = new GraphQLClient(api, nearMiss))
            Assert.Equal("UNAUTHENTICATED", GraphQLClient.ErrorCode(await wrong.SendAsync("{ me { id } }")));
        await admin.DataAsync("mutation ($id: ID!) { revokeApiKey(id: $id) }", new { id = created["id"]!.GetValue<string>() });
        Assert.Equal("UNAUTHENTICATED", GraphQLClient.ErrorCode(await member.SendAsync("{ me { id } }")));
        return [key, nearMiss];
    }

    private static void AssertAbsent(IEnumerable<string> secrets, string log)
    {
        foreach (var secret in secrets)
        {
            var lines = log.Split('\n').Where(l => l.Contains(secret, StringComparison.Ordinal)).ToList();
            Assert.True(lines.Count == 0, $"a key reached the silo's log:\n{string.Join('\n', lines)}");
        }
    }

    /// <summary>Every entry of every category, with its exception.</summary>
    private sealed class EverythingLog : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _entries = new();

        public string Text() => string.Join('\n', _entries);

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(EverythingLog log, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull
            {
                log._entries.Enqueue($"{category} scope: {state}");
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                log._entries.Enqueue($"{category} {logLevel}: {formatter(state, exception)} {exception}");
        }
    }
}
