using System.Text.Json.Nodes;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Data;
using Wrenn.Testing;

namespace Wrenn.Silo.Tests.Api.Adversarial;

/// <summary>
/// The victim team's things the walk aims at, one of each kind the API has (a running sandbox with a
/// marker file, a process and a port, a private template, the team itself, its key, a webhook), and
/// how the victim sees them. A kind with no seeder here has no identifiers, and a field that names
/// one fails the walk until a seeder is added.
/// </summary>
public sealed record TeamResources(ApiFixture Api, ApiTeam Team, string TeamName, string SandboxId, int Pid, string TemplateId, string TemplateName, string KeyHint, string WebhookId)
{
    /// <summary>The pid the record-only victim names: one every guest has (its sandbox has no VM, so it names nothing running).</summary>
    private const int InitPid = 1;

    public const string MarkerPath = "/root/a-marker";
    public const string MarkerContent = "written by team A";

    /// <summary>The port the walk names in the victim's sandbox (whether something listens there makes no difference to a stranger's refusal).</summary>
    private const int Port = 8000;

    /// <summary>A team with a running sandbox (a real VM, through the victim's own key) and a private template.</summary>
    public static async Task<TeamResources> SeedAsync(ApiFixture api)
    {
        var team = await ApiTeam.CreateAsync(api);
        string sandboxId;
        using (await MachineGate.EnterAsync())
        {
            var (_, created) = await api.GraphQLAsync(team.Key, "mutation { createSandbox(input: {template: \"base\", timeoutSeconds: 1800}) { id } }");
            sandboxId = created["data"]?["createSandbox"]?["id"]?.GetValue<string>() ?? throw new InvalidOperationException($"team A's sandbox: {created.ToJsonString()}");
        }
        var (_, written) = await api.GraphQLAsync(team.Key, "mutation ($id: ID!, $p: String!, $c: String!) { writeFile(sandboxId: $id, path: $p, content: $c) { size } }",
            new { id = sandboxId, p = MarkerPath, c = MarkerContent });
        Assert.True(written["errors"] is null, written.ToJsonString());
        // A process that outlives its call: a signal, input or resize that got through shows in its state.
        var (_, started) = await api.GraphQLAsync(team.Key, "mutation ($id: ID!) { startProcess(sandboxId: $id, command: \"sleep\", args: [\"3600\"], tag: \"a-process\") { pid } }",
            new { id = sandboxId });
        var pid = started["data"]?["startProcess"]?["pid"]?.GetValue<int>() ?? throw new InvalidOperationException($"team A's process: {started.ToJsonString()}");
        return await WithAsync(api, team, sandboxId, pid);
    }

    /// <summary>
    /// A team whose sandbox is only a record (ended, on this silo's host: its grain answers, no VM runs):
    /// enough to show a field that skips its check, without booting anything.
    /// </summary>
    public static async Task<TeamResources> SeedWithoutVmAsync(ApiFixture api)
    {
        var team = await ApiTeam.CreateAsync(api);
        var record = await team.InsertSandboxAsync(SandboxState.Destroyed, host: api.Silo.Host.SiloName);
        return await WithAsync(api, team, record.Id, InitPid);
    }

    private static async Task<TeamResources> WithAsync(ApiFixture api, ApiTeam team, string sandboxId, int pid)
    {
        var templateName = $"a-private-{Guid.NewGuid():N}"[..24];
        var template = await api.Silo.Host.Templates.AddAsync(team.Caller.TeamId, templateName, false, TemplateKind.Image, 1, 256,
            new TemplateSource(ImageDir: RepoPaths.ImageDir), CancellationToken.None);
        var (_, me) = await api.GraphQLAsync(team.Key, "{ me { name apiKeys { id hint } } }");
        var hint = me["data"]!["me"]!["apiKeys"]!.AsArray().Single(k => k!["id"]!.GetValue<string>() == team.Caller.KeyId)!["hint"]!.GetValue<string>();
        // A receiver on a closed port: its deliveries fail and retry, which no test here waits for.
        var (_, hook) = await api.GraphQLAsync(team.Key,
            "mutation { createWebhook(url: \"http://127.0.0.1:9/a-hook\", events: [DESTROYED], secret: \"a-secret-of-team-a-long-enough-to-sign\") { id } }");
        var webhookId = hook["data"]?["createWebhook"]?["id"]?.GetValue<string>() ?? throw new InvalidOperationException($"team A's webhook: {hook.ToJsonString()}");
        return new TeamResources(api, team, me["data"]!["me"]!["name"]!.GetValue<string>(), sandboxId, pid, template.Id, templateName, hint, webhookId);
    }

    public string TeamId => Team.Caller.TeamId;

    public string KeyId => Team.Caller.KeyId!;

    /// <summary>The values that name the victim's things, by kind (ids and names alike: arguments typed ID or String take either).</summary>
    public IReadOnlyList<JsonNode> Identifiers(ResourceKind kind, string scalar) => (kind, scalar) switch
    {
        (ResourceKind.Process, "Int") => [JsonValue.Create(Pid)],
        (ResourceKind.Port, "Int") => [JsonValue.Create(Port)],
        (_, "Int" or "Float") => [], // no other kind is named by a number
        (ResourceKind.Sandbox, _) => [JsonValue.Create(SandboxId)],
        (ResourceKind.Template, _) => [JsonValue.Create(TemplateName), JsonValue.Create(TemplateId)],
        (ResourceKind.Team, _) => [JsonValue.Create(TeamName), JsonValue.Create(TeamId)],
        (ResourceKind.ApiKey, _) => [JsonValue.Create(KeyId)],
        (ResourceKind.Webhook, _) => [JsonValue.Create(WebhookId)],
        _ => [],
    };

    /// <summary>What must never show in another team's answers unless that team sent it.</summary>
    public IReadOnlyList<string> Secrets => [SandboxId, TemplateId, TemplateName, TeamId, TeamName, KeyId, KeyHint, WebhookId];

    /// <summary>Everything of the victim's a stranger could change, as the victim reads it.</summary>
    public async Task<string> StateAsync()
    {
        var (_, state) = await Api.GraphQLAsync(Team.Key, $$"""
            query ($id: ID!, $t: String!) {
              sandbox(id: $id) { id state vcpus memoryMib expiresAt metadata { key value } error template { id } }
              template(name: $t) { id name public sandboxes }
              me { id name quota { maxRunningSandboxes maxVcpus maxMemoryMib maxPausedSandboxes } usage { runningSandboxes pausedSandboxes }
                   apiKeys { id admin expiresAt revokedAt } }
              marker: readFile(sandboxId: $id, path: "{{MarkerPath}}") { content }
              processes(sandboxId: $id) { pid tag command args pty exitCode }
              webhooks { id url events }
            }
            """, new { id = SandboxId, t = TemplateName });
        return state.ToJsonString();
    }

    public async Task DestroyAsync() =>
        await Api.GraphQLAsync(Team.Key, "mutation ($id: ID!) { destroySandbox(id: $id) }", new { id = SandboxId });
}
