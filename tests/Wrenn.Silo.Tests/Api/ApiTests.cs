using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Wrenn.Silo.Tests.Api;

/// <summary>The GraphQL API end to end over HTTP and WebSocket, on real VMs.</summary>
[Collection(ApiCollection.Name)]
public sealed class ApiTests(ApiFixture api)
{
    private static string? Code(JsonObject body) => body["errors"]?[0]?["extensions"]?["code"]?.GetValue<string>();

    [Fact]
    public async Task The_schema_introspection_round_trips_through_graphql_js()
    {
        var query = await IntrospectionQueryAsync();
        var (status, body) = await api.GraphQLAsync(api.AdminKey, query);
        Assert.Equal(HttpStatusCode.OK, status);

        var start = new ProcessStartInfo("node", [Path.Combine(Wrenn.Testing.RepoPaths.NodeTests, "graphql-diff", "introspection.mjs"), "sdl"])
        { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var node = Process.Start(start)!;
        await node.StandardInput.WriteAsync(body.ToJsonString());
        node.StandardInput.Close();
        var printed = await node.StandardOutput.ReadToEndAsync();
        await node.WaitForExitAsync();
        Assert.True(node.ExitCode == 0, await node.StandardError.ReadToEndAsync());

        var ours = await api.Http.GetStringAsync(new Uri(api.BaseAddress, "/schema.graphql"));
        Assert.Equal(ours.TrimEnd('\n'), printed);
        Assert.Contains("  execStream(\n", printed);
        Assert.Contains("    command: String!\n", printed);
    }

    /// <summary>graphql-js's own introspection query (getIntrospectionQuery).</summary>
    private static async Task<string> IntrospectionQueryAsync()
    {
        var start = new ProcessStartInfo("node", [Path.Combine(Wrenn.Testing.RepoPaths.NodeTests, "graphql-diff", "introspection.mjs"), "query"]) { RedirectStandardOutput = true };
        using var node = Process.Start(start)!;
        var query = await node.StandardOutput.ReadToEndAsync();
        await node.WaitForExitAsync();
        Assert.True(node.ExitCode == 0 && query.Length > 0, "node printed no introspection query");
        return query;
    }

    [Fact]
    public async Task Create_exec_files_and_destroy_over_HTTP_and_keys_scope_everything_to_a_team()
    {
        var (_, created) = await api.GraphQLAsync(api.AdminKey, "mutation { createSandbox(input: {template: \"base\", timeoutSeconds: 600, metadata: [{key: \"purpose\", value: \"e2e\"}]}) { id state template { name } metadata { key value } } }");
        Assert.Null(created["errors"]);
        var sandbox = created["data"]!["createSandbox"]!;
        var id = sandbox["id"]!.GetValue<string>();
        Assert.Equal(("RUNNING", "base", "e2e"), (sandbox["state"]!.GetValue<string>(), sandbox["template"]!["name"]!.GetValue<string>(), sandbox["metadata"]![0]!["value"]!.GetValue<string>()));

        var (_, exec) = await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { exec(sandboxId: $id, command: \"sh\", args: [\"-c\", \"echo out; echo err >&2; exit 4\"]) { exitCode stdout stderr } }", new { id });
        Assert.Equal("""{"exitCode":4,"stdout":"out\n","stderr":"err\n"}""", exec["data"]!["exec"]!.ToJsonString());

        var (_, written) = await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { writeFile(sandboxId: $id, path: \"/tmp/api.txt\", content: \"héllo\") { path size } }", new { id });
        Assert.Equal(6, written["data"]!["writeFile"]!["size"]!.GetValue<double>());
        var (_, read) = await api.GraphQLAsync(api.AdminKey, "query ($id: ID!) { readFile(sandboxId: $id, path: \"/tmp/api.txt\") { content size } b64: readFile(sandboxId: $id, path: \"/tmp/api.txt\", encoding: BASE64) { content } }", new { id });
        Assert.Equal("héllo", read["data"]!["readFile"]!["content"]!.GetValue<string>());
        Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes("héllo")), read["data"]!["b64"]!["content"]!.GetValue<string>());

        // A large file streams through /files both ways.
        var large = new byte[5 * 1024 * 1024 + 123];
        Random.Shared.NextBytes(large);
        using (var put = new HttpRequestMessage(HttpMethod.Put, new Uri(api.BaseAddress, $"/files/{id}?path=/tmp/large.bin")) { Content = new ByteArrayContent(large) })
        {
            put.Headers.Authorization = new("Bearer", api.AdminKey);
            Assert.Equal(HttpStatusCode.OK, (await api.Http.SendAsync(put)).StatusCode);
        }
        using (var get = new HttpRequestMessage(HttpMethod.Get, new Uri(api.BaseAddress, $"/files/{id}?path=/tmp/large.bin")))
        {
            get.Headers.Authorization = new("Bearer", api.AdminKey);
            Assert.Equal(large, await (await api.Http.SendAsync(get)).Content.ReadAsByteArrayAsync());
        }

        // Without a key, or with a wrong one: UNAUTHENTICATED (401).
        var (noKey, noKeyBody) = await api.GraphQLAsync(null, "{ sandboxes { nodes { id } } }");
        var (badKey, badKeyBody) = await api.GraphQLAsync("wrn_not-a-real-key-000000000000000000000000", "{ sandboxes { nodes { id } } }");
        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHENTICATED"), (noKey, Code(noKeyBody)));
        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHENTICATED"), (badKey, Code(badKeyBody)));

        // A second team, made through the admin mutations, sees nothing of the first team's.
        var (_, team) = await api.GraphQLAsync(api.AdminKey, $"mutation {{ createTeam(name: \"other-{Guid.NewGuid():N}\") {{ id name }} }}");
        var (_, key) = await api.GraphQLAsync(api.AdminKey, "mutation ($t: String!) { createApiKey(team: $t) { key } }", new { t = team["data"]!["createTeam"]!["id"]!.GetValue<string>() });
        var other = key["data"]!["createApiKey"]!["key"]!.GetValue<string>();
        var (_, theirList) = await api.GraphQLAsync(other, "query ($id: ID!) { sandboxes { nodes { id } } sandbox(id: $id) { id } }", new { id });
        Assert.Equal("""{"sandboxes":{"nodes":[]},"sandbox":null}""", theirList["data"]!.ToJsonString());
        var (_, theirExec) = await api.GraphQLAsync(other, "mutation ($id: ID!) { exec(sandboxId: $id, command: \"true\") { exitCode } }", new { id });
        Assert.Equal("NOT_FOUND", Code(theirExec));
        var (_, theirDestroy) = await api.GraphQLAsync(other, "mutation ($id: ID!) { destroySandbox(id: $id) }", new { id });
        Assert.Equal("NOT_FOUND", Code(theirDestroy));
        var (_, notAdmin) = await api.GraphQLAsync(other, "mutation { createTeam(name: \"sneaky\") { id } }");
        Assert.Equal("FORBIDDEN", Code(notAdmin));

        var (_, destroyed) = await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { destroySandbox(id: $id) }", new { id });
        Assert.True(destroyed["data"]!["destroySandbox"]!.GetValue<bool>());
        var (_, after) = await api.GraphQLAsync(api.AdminKey, "query ($id: ID!) { sandbox(id: $id) { state } }", new { id });
        Assert.Equal("DESTROYED", after["data"]!["sandbox"]!["state"]!.GetValue<string>());
        var (_, gone) = await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { exec(sandboxId: $id, command: \"true\") { exitCode } }", new { id });
        Assert.Equal("FAILED_PRECONDITION", Code(gone));
    }

    [Fact]
    public async Task Pause_resume_and_templates_work_through_the_GraphQL_mutations()
    {
        var (_, created) = await api.GraphQLAsync(api.AdminKey, "mutation { createSandbox(input: {template: \"base\"}) { id } }");
        var id = created["data"]!["createSandbox"]!["id"]!.GetValue<string>();
        await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { writeFile(sandboxId: $id, path: \"/root/note\", content: \"before pause\") { size } }", new { id });

        var (_, paused) = await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { pauseSandbox(id: $id) { state expiresAt } }", new { id });
        Assert.Equal("""{"state":"PAUSED","expiresAt":null}""", paused["data"]!["pauseSandbox"]!.ToJsonString());
        var (_, whilePaused) = await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { exec(sandboxId: $id, command: \"true\") { exitCode } }", new { id });
        Assert.Equal("FAILED_PRECONDITION", Code(whilePaused));
        var (_, resumed) = await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { resumeSandbox(id: $id) { state } }", new { id });
        Assert.Equal("RUNNING", resumed["data"]!["resumeSandbox"]!["state"]!.GetValue<string>());

        var name = $"api-{Guid.NewGuid():N}"[..16];
        var (_, template) = await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!, $name: String!) { createTemplateFromSandbox(sandboxId: $id, name: $name) { name kind } }", new { id, name });
        Assert.Equal($$"""{"name":"{{name}}","kind":"SNAPSHOT"}""", template["data"]!["createTemplateFromSandbox"]!.ToJsonString());
        var (_, child) = await api.GraphQLAsync(api.AdminKey, "mutation ($t: String!) { createSandbox(input: {template: $t}) { id template { name } } }", new { t = name });
        var childId = child["data"]!["createSandbox"]!["id"]!.GetValue<string>();
        var (_, note) = await api.GraphQLAsync(api.AdminKey, "query ($id: ID!) { readFile(sandboxId: $id, path: \"/root/note\") { content } }", new { id = childId });
        Assert.Equal("before pause", note["data"]!["readFile"]!["content"]!.GetValue<string>());

        var (_, inUse) = await api.GraphQLAsync(api.AdminKey, "mutation ($n: String!) { deleteTemplate(name: $n) }", new { n = name });
        Assert.Equal("FAILED_PRECONDITION", Code(inUse));
        await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { destroySandbox(id: $id) }", new { id = childId });
        var (_, deleted) = await api.GraphQLAsync(api.AdminKey, "mutation ($n: String!) { deleteTemplate(name: $n) }", new { n = name });
        Assert.True(deleted["data"]!["deleteTemplate"]!.GetValue<bool>());
        await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { destroySandbox(id: $id) }", new { id });
    }

    [Fact]
    public async Task A_graphql_ws_client_receives_ten_thousand_lines_in_order_then_the_exit()
    {
        var (_, created) = await api.GraphQLAsync(api.AdminKey, "mutation { createSandbox(input: {template: \"base\"}) { id } }");
        var id = created["data"]!["createSandbox"]!["id"]!.GetValue<string>();
        try
        {
            var ws = new UriBuilder(api.BaseAddress) { Scheme = "ws", Path = "/graphql" }.Uri.ToString();
            var result = await ApiFixture.NodeAsync("exec-stream.mjs", ws, api.AdminKey, id, "10000");
            Assert.Equal("""{"lines":10000,"inOrder":true,"exitCode":0}""", new JsonObject
            {
                ["lines"] = result["lines"]!.DeepClone(), ["inOrder"] = result["inOrder"]!.DeepClone(), ["exitCode"] = result["exitCode"]!.DeepClone(),
            }.ToJsonString());
            Assert.Null(result["error"]);
            Assert.True(result["events"]!.GetValue<int>() > 2, "the output came as several events, not one");
        }
        finally
        {
            await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { destroySandbox(id: $id) }", new { id });
        }
    }

    [Fact]
    public async Task The_web_console_creates_a_sandbox_runs_a_command_shows_its_output_wakes_it_on_use_and_destroys_it()
    {
        if (!File.Exists(Environment.GetEnvironmentVariable("WRENN_CHROMIUM") ?? "/usr/bin/chromium"))
            Assert.Fail("Debian's chromium is missing: scripts/setup installs it (apt install chromium).");
        var result = await ApiFixture.NodeAsync("console.mjs", api.BaseAddress.ToString().TrimEnd('/'), api.AdminKey);
        Assert.Null(result["error"]?.GetValue<string>());
        Assert.StartsWith("sb-", result["created"]!.GetValue<string>());
        Assert.Contains("hello-from-the-console", result["output"]!.GetValue<string>());
        // Its lifecycle form turned on wake on use; paused from its row, the next command woke it.
        Assert.Equal("timeout destroys · wakes on use", result["lifecycle"]!.GetValue<string>());
        Assert.Equal("PAUSED (USER)", result["paused"]!.GetValue<string>());
        Assert.Contains("woken-by-the-console", result["woken"]!.GetValue<string>());
        Assert.True(result["destroyed"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Bad_input_gets_clear_errors_and_the_silo_keeps_serving()
    {
        var (malformed, malformedBody) = await api.PostAsync(api.AdminKey, "{ \"query\": ");
        Assert.Equal(HttpStatusCode.BadRequest, malformed);
        Assert.Contains("not valid JSON", malformedBody["errors"]![0]!["message"]!.GetValue<string>());

        var (noQuery, _) = await api.PostAsync(api.AdminKey, "{ \"variables\": {} }");
        Assert.Equal(HttpStatusCode.BadRequest, noQuery);

        var (unknown, unknownBody) = await api.GraphQLAsync(api.AdminKey, "query A { templates { name } }", null);
        Assert.Equal(HttpStatusCode.OK, unknown);
        using (var named = new HttpRequestMessage(HttpMethod.Post, new Uri(api.BaseAddress, "/graphql"))
        { Content = new StringContent("""{"query":"query A { templates { name } }","operationName":"B"}""", Encoding.UTF8, "application/json") })
        {
            named.Headers.Authorization = new("Bearer", api.AdminKey);
            named.Headers.Accept.ParseAdd("application/graphql-response+json");
            var response = await api.Http.SendAsync(named);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("Unknown operation named \\\"B\\\"", await response.Content.ReadAsStringAsync());
        }

        var clock = Stopwatch.StartNew();
        var (huge, hugeBody) = await api.GraphQLAsync(api.AdminKey, "{ templates { name } " + new string(' ', 10 * 1024 * 1024) + "}");
        Assert.Equal(HttpStatusCode.BadRequest, huge);
        Assert.Contains("Syntax Error", hugeBody["errors"]![0]!["message"]!.GetValue<string>());

        var deep = "{ sandboxes { nodes { template " + string.Concat(Enumerable.Repeat("{ name ", 5000)) + new string('}', 5000) + " } } }";
        var (deepStatus, deepBody) = await api.GraphQLAsync(api.AdminKey, deep);
        Assert.Equal(HttpStatusCode.BadRequest, deepStatus);
        Assert.NotNull(deepBody["errors"]);

        var (wrongType, wrongTypeBody) = await api.GraphQLAsync(api.AdminKey, "query ($n: Int!) { sandboxes(first: $n) { nodes { id } } }", new { n = "ten" });
        Assert.Equal(HttpStatusCode.BadRequest, wrongType);
        Assert.Contains("Variable '$n' is invalid", wrongTypeBody["errors"]![0]!["message"]!.GetValue<string>());

        var (legacy, _) = await api.GraphQLAsync(api.AdminKey, "{ nope }", accept: "application/json");
        Assert.Equal(HttpStatusCode.OK, legacy); // application/json: 200 for any well-formed request

        using (var get = new HttpRequestMessage(HttpMethod.Get, new Uri(api.BaseAddress, "/graphql?query=" + Uri.EscapeDataString("mutation { deleteTemplate(name: \"x\") }"))))
        {
            get.Headers.Authorization = new("Bearer", api.AdminKey);
            Assert.Equal(HttpStatusCode.MethodNotAllowed, (await api.Http.SendAsync(get)).StatusCode);
        }

        var (ok, okBody) = await api.GraphQLAsync(api.AdminKey, "{ templates { name public } me { name } }");
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Contains("base", okBody["data"]!["templates"]!.ToJsonString());
    }

    [Fact]
    public async Task The_WebSocket_protocol_refuses_bad_keys_late_init_and_early_subscribe_with_its_close_codes()
    {
        async Task<(WebSocketCloseStatus? Status, string? Reason)> CloseAfterAsync(params string[] messages)
        {
            using var socket = new ClientWebSocket();
            socket.Options.AddSubProtocol("graphql-transport-ws");
            await socket.ConnectAsync(new UriBuilder(api.BaseAddress) { Scheme = "ws", Path = "/graphql" }.Uri, CancellationToken.None);
            foreach (var m in messages)
                await socket.SendAsync(Encoding.UTF8.GetBytes(m), WebSocketMessageType.Text, true, CancellationToken.None);
            var buffer = new byte[4096];
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            while (true)
            {
                var r = await socket.ReceiveAsync(buffer, limit.Token);
                if (r.MessageType == WebSocketMessageType.Close)
                    return (socket.CloseStatus, socket.CloseStatusDescription);
            }
        }

        Assert.Equal(((WebSocketCloseStatus)4403, "Forbidden"), await CloseAfterAsync("""{"type":"connection_init","payload":{"authorization":"Bearer wrn_wrong"}}"""));
        Assert.Equal(((WebSocketCloseStatus)4401, "Unauthorized"), await CloseAfterAsync("""{"id":"1","type":"subscribe","payload":{"query":"{ me { name } }"}}"""));
        Assert.Equal(((WebSocketCloseStatus)4408, "Connection initialisation timeout"), await CloseAfterAsync());
        Assert.Equal(((WebSocketCloseStatus)4400, "Invalid message received"), await CloseAfterAsync("not json"));
        var init = new JsonObject { ["type"] = "connection_init", ["payload"] = new JsonObject { ["Authorization"] = $"Bearer {api.AdminKey}" } }.ToJsonString();
        Assert.Equal(((WebSocketCloseStatus)4429, "Too many initialisation requests"), await CloseAfterAsync(init, init));
    }
}
