using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;

namespace Wrenn.Silo.Tests.Api;

/// <summary>The silo's real backend, every call counted by method (sandbox grain calls are counted as <c>Sandbox</c>, when the grain is asked for).</summary>
public sealed class CountingBackend(IWrennBackend inner) : IWrennBackend
{
    private readonly ConcurrentDictionary<string, int> _calls = new();

    /// <summary>Calls by method since the last <see cref="Reset"/>, leaving out authentication (every request makes one).</summary>
    public IReadOnlyDictionary<string, int> Calls => _calls.Where(c => c.Key != nameof(AuthenticateAsync)).ToDictionary();

    public int Total => Calls.Values.Sum();

    public void Reset() => _calls.Clear();

    private void Count([CallerMemberName] string method = "") => _calls.AddOrUpdate(method, 1, (_, n) => n + 1);

    public Task<Caller?> AuthenticateAsync(string apiKey, CancellationToken cancellationToken)
    {
        Count();
        return inner.AuthenticateAsync(apiKey, cancellationToken);
    }

    public Task<SandboxInfo> CreateSandboxAsync(Caller caller, NewSandboxRequest request, CancellationToken cancellationToken)
    {
        Count();
        return inner.CreateSandboxAsync(caller, request, cancellationToken);
    }

    public ISandboxGrain Sandbox(string id)
    {
        Count();
        return inner.Sandbox(id);
    }

    public Task<SandboxPage> ListSandboxesAsync(Caller caller, SandboxState? state, string? after, int first, CancellationToken cancellationToken)
    {
        Count();
        return inner.ListSandboxesAsync(caller, state, after, first, cancellationToken);
    }

    public Task<IReadOnlyList<TemplateInfo>> TemplatesAsync(Caller caller, CancellationToken cancellationToken)
    {
        Count();
        return inner.TemplatesAsync(caller, cancellationToken);
    }

    public Task<TemplateInfo?> TemplateAsync(Caller caller, string nameOrId, CancellationToken cancellationToken)
    {
        Count();
        return inner.TemplateAsync(caller, nameOrId, cancellationToken);
    }

    public Task<IReadOnlyDictionary<string, TemplateInfo>> TemplatesByIdAsync(Caller caller, IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        Count();
        return inner.TemplatesByIdAsync(caller, ids, cancellationToken);
    }

    public Task DeleteTemplateAsync(Caller caller, string name, CancellationToken cancellationToken)
    {
        Count();
        return inner.DeleteTemplateAsync(caller, name, cancellationToken);
    }

    public Task<IReadOnlyList<HostInfo>> HostsAsync(Caller caller, CancellationToken cancellationToken)
    {
        Count();
        return inner.HostsAsync(caller, cancellationToken);
    }

    public Task<IReadOnlyDictionary<string, HostInfo>> HostsByNameAsync(Caller caller, IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        Count();
        return inner.HostsByNameAsync(caller, names, cancellationToken);
    }

    public IAsyncEnumerable<SandboxChange> SandboxChangesAsync(Caller caller, string? sandboxId, CancellationToken cancellationToken)
    {
        Count();
        return inner.SandboxChangesAsync(caller, sandboxId, cancellationToken);
    }

    public Task<TeamInfo> TeamAsync(Caller caller, CancellationToken cancellationToken)
    {
        Count();
        return inner.TeamAsync(caller, cancellationToken);
    }

    public Task<TeamInfo> CreateTeamAsync(Caller caller, string name, CancellationToken cancellationToken)
    {
        Count();
        return inner.CreateTeamAsync(caller, name, cancellationToken);
    }

    public Task<NewApiKeyInfo> CreateApiKeyAsync(Caller caller, string team, bool admin, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        Count();
        return inner.CreateApiKeyAsync(caller, team, admin, expiresAt, cancellationToken);
    }

    public Task<bool> RevokeApiKeyAsync(Caller caller, string keyId, CancellationToken cancellationToken)
    {
        Count();
        return inner.RevokeApiKeyAsync(caller, keyId, cancellationToken);
    }

    public Task<PortUrlInfo> CreatePortUrlAsync(Caller caller, string sandboxId, int port, int ttlSeconds, Uri? origin, CancellationToken cancellationToken)
    {
        Count();
        return inner.CreatePortUrlAsync(caller, sandboxId, port, ttlSeconds, origin, cancellationToken);
    }

    public Task<TeamInfo?> FindTeamAsync(Caller caller, string nameOrId, CancellationToken cancellationToken)
    {
        Count();
        return inner.FindTeamAsync(caller, nameOrId, cancellationToken);
    }

    public Task<TeamQuotaInfo> TeamQuotaAsync(Caller caller, string teamId, CancellationToken cancellationToken)
    {
        Count();
        return inner.TeamQuotaAsync(caller, teamId, cancellationToken);
    }

    public Task<TeamUsageInfo> TeamUsageAsync(Caller caller, string teamId, CancellationToken cancellationToken)
    {
        Count();
        return inner.TeamUsageAsync(caller, teamId, cancellationToken);
    }

    public Task<IReadOnlyList<ApiKeyListing>> ApiKeysAsync(Caller caller, string teamId, CancellationToken cancellationToken)
    {
        Count();
        return inner.ApiKeysAsync(caller, teamId, cancellationToken);
    }

    public Task<TeamInfo> SetTeamQuotaAsync(Caller caller, string team, TeamQuotaChange change, CancellationToken cancellationToken)
    {
        Count();
        return inner.SetTeamQuotaAsync(caller, team, change, cancellationToken);
    }

    public Task<WebhookInfo> CreateWebhookAsync(Caller caller, string url, IReadOnlyList<SandboxEventKind> events, string secret, CancellationToken cancellationToken)
    {
        Count();
        return inner.CreateWebhookAsync(caller, url, events, secret, cancellationToken);
    }

    public Task<IReadOnlyList<WebhookInfo>> WebhooksAsync(Caller caller, CancellationToken cancellationToken)
    {
        Count();
        return inner.WebhooksAsync(caller, cancellationToken);
    }

    public Task<bool> DeleteWebhookAsync(Caller caller, string id, CancellationToken cancellationToken)
    {
        Count();
        return inner.DeleteWebhookAsync(caller, id, cancellationToken);
    }

    public Task<IReadOnlyList<WebhookDeliveryInfo>> WebhookDeliveriesAsync(Caller caller, string? webhookId, string? sandboxId, int first, CancellationToken cancellationToken)
    {
        Count();
        return inner.WebhookDeliveriesAsync(caller, webhookId, sandboxId, first, cancellationToken);
    }
}
