using System.Runtime.CompilerServices;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;
using Wrenn.Silo.Cluster;
using Wrenn.Silo.Cluster.Events;
using Wrenn.Silo.Data;
using Wrenn.Silo.Ports;
using Wrenn.Silo.Quotas;
using Wrenn.Silo.Sandboxes;
using Wrenn.Silo.Webhooks;

namespace Wrenn.Silo.Hosting;

/// <summary>The silo's side of the API: what the GraphQL layer needs beyond the grain interfaces.</summary>
internal sealed class SiloApiBackend(Teams teams, TeamQuotas quotas, TemplateCatalog templates, SandboxService sandboxes, IGrainFactory grains, ClusterHosts hosts,
    ISandboxChangeFeed changes, AuditLog audit, PortUrls portUrls, WebhookStore webhooks) : IWrennBackend
{
    public Task<Caller?> AuthenticateAsync(string apiKey, CancellationToken cancellationToken) => teams.AuthenticateAsync(apiKey, cancellationToken);

    public Task<SandboxInfo> CreateSandboxAsync(Caller caller, NewSandboxRequest request, CancellationToken cancellationToken) =>
        sandboxes.CreateAsync(caller, new NewSandbox(request.Template, request.Vcpus, request.MemoryMib, request.TimeoutSeconds, request.Metadata, request.Network, request.Lifecycle), cancellationToken);

    public ISandboxGrain Sandbox(string id) => sandboxes.Sandbox(id);

    public async Task<SandboxPage> ListSandboxesAsync(Caller caller, SandboxState? state, string? after, int first, CancellationToken cancellationToken)
    {
        if (first is < 1 or > 500)
            throw new GrainException(ErrorCodes.InvalidArgument, $"first must be between 1 and 500 (got {first}).");
        var rows = await sandboxes.ListAsync(caller, state, after, first + 1, cancellationToken);
        return new SandboxPage(rows.Take(first).Select(r => r.ToInfo()).ToList(), rows.Count > first);
    }

    public async Task<IReadOnlyList<TemplateInfo>> TemplatesAsync(Caller caller, CancellationToken cancellationToken) =>
        await Task.WhenAll((await templates.ListAsync(caller, cancellationToken)).Select(t => grains.GetGrain<ITemplateGrain>(t.Id).GetAsync(caller)));

    public async Task<TemplateInfo?> TemplateAsync(Caller caller, string nameOrId, CancellationToken cancellationToken) =>
        await templates.ResolveAsync(caller, nameOrId, cancellationToken) is { } row ? await grains.GetGrain<ITemplateGrain>(row.Id).GetAsync(caller) : null;

    public async Task<IReadOnlyDictionary<string, TemplateInfo>> TemplatesByIdAsync(Caller caller, IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        // A page names few templates (most sandboxes start from the same ones): one grain call each, together.
        var found = await Task.WhenAll(ids.Distinct().Select(id => TemplateAsync(caller, id, cancellationToken)));
        return found.OfType<TemplateInfo>().ToDictionary(t => t.Id);
    }

    public async Task DeleteTemplateAsync(Caller caller, string name, CancellationToken cancellationToken)
    {
        var row = await templates.ResolveAsync(caller, name, cancellationToken)
            ?? throw new GrainException(ErrorCodes.NotFound, $"No template named '{name}' in your team.");
        await grains.GetGrain<ITemplateGrain>(row.Id).DeleteAsync(caller);
    }

    public async Task<IReadOnlyList<HostInfo>> HostsAsync(Caller caller, CancellationToken cancellationToken) =>
        await Task.WhenAll(hosts.Live().Select(name => HostAsync(caller, name)));

    public async Task<IReadOnlyDictionary<string, HostInfo>> HostsByNameAsync(Caller caller, IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        var asked = await Task.WhenAll(names.Distinct().Where(hosts.IsLive).Select(name => HostAsync(caller, name)));
        return asked.ToDictionary(h => h.Name);
    }

    /// <summary>A live host's slot grain; one that does not answer is shown as not live.</summary>
    private async Task<HostInfo> HostAsync(Caller caller, string name)
    {
        try
        {
            return await grains.GetGrain<IHostSlotGrain>(name).GetAsync(caller);
        }
        catch (GrainException)
        {
            return new HostInfo(name, new HostCapacity(0, 0, 0), new HostCapacity(0, 0, 0), 0, Live: false);
        }
    }

    public IAsyncEnumerable<SandboxChange> SandboxChangesAsync(Caller caller, string? sandboxId, CancellationToken cancellationToken)
    {
        // Subscribed here, before the first read: a change right after this call is not missed.
        var subscription = changes.Subscribe(caller.TeamId, sandboxId, cancellationToken);
        return ReadAsync(subscription, cancellationToken);

        static async IAsyncEnumerable<SandboxChange> ReadAsync(SandboxChangeSubscription subscription, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            using (subscription)
            {
                await foreach (var change in subscription.Changes.ReadAllAsync(cancellationToken))
                    yield return change;
            }
        }
    }

    public async Task<TeamInfo> TeamAsync(Caller caller, CancellationToken cancellationToken)
    {
        var team = await teams.FindTeamAsync(caller.TeamId, cancellationToken) ?? throw new GrainException(ErrorCodes.NotFound, "Your team no longer exists.");
        return new TeamInfo(team.Id, team.Name, team.CreatedAt);
    }

    public async Task<TeamInfo> CreateTeamAsync(Caller caller, string name, CancellationToken cancellationToken)
    {
        RequireAdmin(caller);
        try
        {
            var team = await teams.CreateTeamAsync(name, cancellationToken);
            await audit.RecordAsync(caller, "team.create", team.Id, new { team.Name }, cancellationToken);
            return new TeamInfo(team.Id, team.Name, team.CreatedAt);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new GrainException(ErrorCodes.InvalidArgument, e.Message);
        }
    }

    public async Task<NewApiKeyInfo> CreateApiKeyAsync(Caller caller, string team, bool admin, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        RequireAdmin(caller);
        var found = await teams.FindTeamAsync(team, cancellationToken) ?? throw new GrainException(ErrorCodes.NotFound, $"No team '{team}'.");
        NewApiKey key;
        try
        {
            key = await teams.CreateKeyAsync(found.Id, admin ? Role.Admin : Role.Member, expiresAt, cancellationToken);
        }
        catch (ArgumentException e)
        {
            throw new GrainException(ErrorCodes.InvalidArgument, e.Message);
        }
        await audit.RecordAsync(caller, "key.create", key.Info.Id, new { team = found.Name, admin, expiresAt }, cancellationToken);
        return new NewApiKeyInfo(key.Info.Id, found.Id, admin, key.Secret, key.Info.ExpiresAt);
    }

    public async Task<bool> RevokeApiKeyAsync(Caller caller, string keyId, CancellationToken cancellationToken)
    {
        RequireAdmin(caller);
        var revoked = await teams.RevokeKeyAsync(keyId, cancellationToken);
        if (revoked)
            await audit.RecordAsync(caller, "key.revoke", keyId, null, cancellationToken);
        return revoked;
    }

    public async Task<PortUrlInfo> CreatePortUrlAsync(Caller caller, string sandboxId, int port, int ttlSeconds, Uri? origin, CancellationToken cancellationToken)
    {
        var made = await portUrls.CreateAsync(caller, sandboxId, port, ttlSeconds, origin, cancellationToken);
        return new PortUrlInfo(made.Url.ToString(), made.ExpiresAt);
    }

    public async Task<TeamInfo?> FindTeamAsync(Caller caller, string nameOrId, CancellationToken cancellationToken) =>
        await teams.FindTeamAsync(nameOrId, cancellationToken) is { } team && (team.Id == caller.TeamId || caller.Role == Role.Admin)
            ? new TeamInfo(team.Id, team.Name, team.CreatedAt)
            : null;

    public async Task<TeamQuotaInfo> TeamQuotaAsync(Caller caller, string teamId, CancellationToken cancellationToken)
    {
        RequireOwnTeamOrAdmin(caller, teamId);
        var quota = await quotas.GetAsync(teamId, cancellationToken) ?? throw NoTeam(teamId);
        return new TeamQuotaInfo(quota.MaxRunningSandboxes, quota.MaxVcpus, quota.MaxMemoryMib, quota.MaxPausedSandboxes);
    }

    public async Task<TeamUsageInfo> TeamUsageAsync(Caller caller, string teamId, CancellationToken cancellationToken)
    {
        RequireOwnTeamOrAdmin(caller, teamId);
        var usage = await quotas.UsageAsync(teamId, cancellationToken);
        return new TeamUsageInfo(usage.RunningSandboxes, usage.Vcpus, usage.MemoryMib, usage.PausedSandboxes);
    }

    public async Task<IReadOnlyList<ApiKeyListing>> ApiKeysAsync(Caller caller, string teamId, CancellationToken cancellationToken)
    {
        RequireOwnTeamOrAdmin(caller, teamId);
        return (await teams.KeysAsync(teamId, cancellationToken))
            .Select(k => new ApiKeyListing(k.Id, k.TeamId, k.Role == Role.Admin, k.Hint, k.CreatedAt, k.ExpiresAt, k.LastUsedAt, k.RevokedAt))
            .ToList();
    }

    public async Task<TeamInfo> SetTeamQuotaAsync(Caller caller, string team, TeamQuotaChange change, CancellationToken cancellationToken)
    {
        RequireAdmin(caller);
        var found = await teams.FindTeamAsync(team, cancellationToken) ?? throw new GrainException(ErrorCodes.NotFound, $"No team '{team}'.");
        static LimitChange Limit(QuotaLimitArgument argument) => argument.Given ? LimitChange.To(argument.Value) : LimitChange.Unchanged;
        var quota = await quotas.SetAsync(found.Id, new QuotaChange(Limit(change.MaxRunningSandboxes), Limit(change.MaxVcpus), Limit(change.MaxMemoryMib),
            Limit(change.MaxPausedSandboxes)), cancellationToken);
        await audit.RecordAsync(caller, "team.quota", found.Id, quota, cancellationToken);
        return new TeamInfo(found.Id, found.Name, found.CreatedAt);
    }

    public async Task<WebhookInfo> CreateWebhookAsync(Caller caller, string url, IReadOnlyList<SandboxEventKind> events, string secret, CancellationToken cancellationToken)
    {
        var webhook = await webhooks.CreateAsync(caller.TeamId, url, events, secret, cancellationToken);
        await audit.RecordAsync(caller, "webhook.create", webhook.Id, new { webhook.Url, events = webhook.Events.Select(WebhookStore.EventName) }, cancellationToken);
        return webhook;
    }

    public Task<IReadOnlyList<WebhookInfo>> WebhooksAsync(Caller caller, CancellationToken cancellationToken) => webhooks.ListAsync(caller.TeamId, cancellationToken);

    public async Task<bool> DeleteWebhookAsync(Caller caller, string id, CancellationToken cancellationToken)
    {
        var deleted = await webhooks.DeleteAsync(caller.TeamId, id, cancellationToken);
        if (deleted)
            await audit.RecordAsync(caller, "webhook.delete", id, null, cancellationToken);
        return deleted;
    }

    public Task<IReadOnlyList<WebhookDeliveryInfo>> WebhookDeliveriesAsync(Caller caller, string? webhookId, string? sandboxId, int first, CancellationToken cancellationToken) =>
        first is < 1 or > 500
            ? throw new GrainException(ErrorCodes.InvalidArgument, $"first must be between 1 and 500 (got {first}).")
            : webhooks.DeliveriesAsync(caller.TeamId, webhookId, sandboxId, first, cancellationToken);

    private static void RequireAdmin(Caller caller)
    {
        if (caller.Role != Role.Admin)
            throw new GrainException(ErrorCodes.PermissionDenied, "Only admin keys manage teams, keys and quotas.");
    }

    /// <summary>Another team's quota, use or keys do not exist for a member key.</summary>
    private static void RequireOwnTeamOrAdmin(Caller caller, string teamId)
    {
        if (caller.TeamId != teamId && caller.Role != Role.Admin)
            throw NoTeam(teamId);
    }

    private static GrainException NoTeam(string teamId) => new(ErrorCodes.NotFound, $"No team {teamId} of yours.");
}
