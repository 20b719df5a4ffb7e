using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Tests;

/// <summary>
/// Stands in for the silo where a test must not reach it (validation, introspection, limits): any call
/// fails the request loudly, naming the method, so a test that relied on it would show it.
/// </summary>
public class UnreachableBackend : IWrennBackend
{
    protected static Exception Reached(string method) => new InvalidOperationException($"The API called the backend ({method}) where the test expects no call.");

    public virtual Task<Caller?> AuthenticateAsync(string apiKey, CancellationToken cancellationToken) => throw Reached(nameof(AuthenticateAsync));
    public virtual Task<SandboxInfo> CreateSandboxAsync(Caller caller, NewSandboxRequest request, CancellationToken cancellationToken) => throw Reached(nameof(CreateSandboxAsync));
    public virtual ISandboxGrain Sandbox(string id) => throw Reached(nameof(Sandbox));
    public virtual Task<SandboxPage> ListSandboxesAsync(Caller caller, SandboxState? state, string? after, int first, CancellationToken cancellationToken) => throw Reached(nameof(ListSandboxesAsync));
    public virtual Task<IReadOnlyList<TemplateInfo>> TemplatesAsync(Caller caller, CancellationToken cancellationToken) => throw Reached(nameof(TemplatesAsync));
    public virtual Task<TemplateInfo?> TemplateAsync(Caller caller, string nameOrId, CancellationToken cancellationToken) => throw Reached(nameof(TemplateAsync));
    public virtual Task<IReadOnlyDictionary<string, TemplateInfo>> TemplatesByIdAsync(Caller caller, IReadOnlyCollection<string> ids, CancellationToken cancellationToken) => throw Reached(nameof(TemplatesByIdAsync));
    public virtual Task DeleteTemplateAsync(Caller caller, string name, CancellationToken cancellationToken) => throw Reached(nameof(DeleteTemplateAsync));
    public virtual Task<IReadOnlyList<HostInfo>> HostsAsync(Caller caller, CancellationToken cancellationToken) => throw Reached(nameof(HostsAsync));
    public virtual Task<IReadOnlyDictionary<string, HostInfo>> HostsByNameAsync(Caller caller, IReadOnlyCollection<string> names, CancellationToken cancellationToken) => throw Reached(nameof(HostsByNameAsync));
    public virtual IAsyncEnumerable<SandboxChange> SandboxChangesAsync(Caller caller, string? sandboxId, CancellationToken cancellationToken) => throw Reached(nameof(SandboxChangesAsync));
    public virtual Task<TeamInfo> TeamAsync(Caller caller, CancellationToken cancellationToken) => throw Reached(nameof(TeamAsync));
    public virtual Task<TeamInfo> CreateTeamAsync(Caller caller, string name, CancellationToken cancellationToken) => throw Reached(nameof(CreateTeamAsync));
    public virtual Task<NewApiKeyInfo> CreateApiKeyAsync(Caller caller, string team, bool admin, DateTimeOffset? expiresAt, CancellationToken cancellationToken) => throw Reached(nameof(CreateApiKeyAsync));
    public virtual Task<bool> RevokeApiKeyAsync(Caller caller, string keyId, CancellationToken cancellationToken) => throw Reached(nameof(RevokeApiKeyAsync));

    public virtual Task<PortUrlInfo> CreatePortUrlAsync(Caller caller, string sandboxId, int port, int ttlSeconds, Uri? origin, CancellationToken cancellationToken) =>
        throw Reached(nameof(CreatePortUrlAsync));
    public virtual Task<TeamInfo?> FindTeamAsync(Caller caller, string nameOrId, CancellationToken cancellationToken) => throw Reached(nameof(FindTeamAsync));
    public virtual Task<TeamQuotaInfo> TeamQuotaAsync(Caller caller, string teamId, CancellationToken cancellationToken) => throw Reached(nameof(TeamQuotaAsync));
    public virtual Task<TeamUsageInfo> TeamUsageAsync(Caller caller, string teamId, CancellationToken cancellationToken) => throw Reached(nameof(TeamUsageAsync));
    public virtual Task<IReadOnlyList<ApiKeyListing>> ApiKeysAsync(Caller caller, string teamId, CancellationToken cancellationToken) => throw Reached(nameof(ApiKeysAsync));
    public virtual Task<TeamInfo> SetTeamQuotaAsync(Caller caller, string team, TeamQuotaChange change, CancellationToken cancellationToken) => throw Reached(nameof(SetTeamQuotaAsync));
    public virtual Task<WebhookInfo> CreateWebhookAsync(Caller caller, string url, IReadOnlyList<SandboxEventKind> events, string secret, CancellationToken cancellationToken) => throw Reached(nameof(CreateWebhookAsync));
    public virtual Task<IReadOnlyList<WebhookInfo>> WebhooksAsync(Caller caller, CancellationToken cancellationToken) => throw Reached(nameof(WebhooksAsync));
    public virtual Task<bool> DeleteWebhookAsync(Caller caller, string id, CancellationToken cancellationToken) => throw Reached(nameof(DeleteWebhookAsync));
    public virtual Task<IReadOnlyList<WebhookDeliveryInfo>> WebhookDeliveriesAsync(Caller caller, string? webhookId, string? sandboxId, int first, CancellationToken cancellationToken) => throw Reached(nameof(WebhookDeliveriesAsync));
}
