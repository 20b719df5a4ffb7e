using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;

namespace Wrenn.Bench.GraphQL;

/// <summary>
/// A backend that answers the bench's one query from memory (the GraphQL layer's cost is what is measured,
/// not the silo's): every key is the bench team's, <c>me</c> is a constant. Anything else is not benched.
/// </summary>
public sealed class BenchBackend : IWrennBackend
{
    public static readonly Caller Team = new("team-bench", "key-bench", Role.Member);
    public static readonly TeamInfo Info = new("team-bench", "bench", new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));

    public Task<Caller?> AuthenticateAsync(string apiKey, CancellationToken cancellationToken) => Task.FromResult<Caller?>(Team);
    public Task<TeamInfo> TeamAsync(Caller caller, CancellationToken cancellationToken) => Task.FromResult(Info);

    private static NotSupportedException NotBenched() => new("The GraphQL bench asks only for `me`.");
    public Task<SandboxInfo> CreateSandboxAsync(Caller caller, NewSandboxRequest request, CancellationToken cancellationToken) => throw NotBenched();
    public ISandboxGrain Sandbox(string id) => throw NotBenched();
    public Task<SandboxPage> ListSandboxesAsync(Caller caller, SandboxState? state, string? after, int first, CancellationToken cancellationToken) => throw NotBenched();
    public Task<IReadOnlyList<TemplateInfo>> TemplatesAsync(Caller caller, CancellationToken cancellationToken) => throw NotBenched();
    public Task<TemplateInfo?> TemplateAsync(Caller caller, string nameOrId, CancellationToken cancellationToken) => throw NotBenched();
    public Task<IReadOnlyDictionary<string, TemplateInfo>> TemplatesByIdAsync(Caller caller, IReadOnlyCollection<string> ids, CancellationToken cancellationToken) => throw NotBenched();
    public Task DeleteTemplateAsync(Caller caller, string name, CancellationToken cancellationToken) => throw NotBenched();
    public Task<IReadOnlyList<HostInfo>> HostsAsync(Caller caller, CancellationToken cancellationToken) => throw NotBenched();
    public Task<IReadOnlyDictionary<string, HostInfo>> HostsByNameAsync(Caller caller, IReadOnlyCollection<string> names, CancellationToken cancellationToken) => throw NotBenched();
    public IAsyncEnumerable<SandboxChange> SandboxChangesAsync(Caller caller, string? sandboxId, CancellationToken cancellationToken) => throw NotBenched();
    public Task<TeamInfo> CreateTeamAsync(Caller caller, string name, CancellationToken cancellationToken) => throw NotBenched();
    public Task<NewApiKeyInfo> CreateApiKeyAsync(Caller caller, string team, bool admin, DateTimeOffset? expiresAt, CancellationToken cancellationToken) => throw NotBenched();
    public Task<bool> RevokeApiKeyAsync(Caller caller, string keyId, CancellationToken cancellationToken) => throw NotBenched();

    public Task<PortUrlInfo> CreatePortUrlAsync(Caller caller, string sandboxId, int port, int ttlSeconds, Uri? origin, CancellationToken cancellationToken) => throw NotBenched();
    public Task<TeamInfo?> FindTeamAsync(Caller caller, string nameOrId, CancellationToken cancellationToken) => throw NotBenched();
    public Task<TeamQuotaInfo> TeamQuotaAsync(Caller caller, string teamId, CancellationToken cancellationToken) => throw NotBenched();
    public Task<TeamUsageInfo> TeamUsageAsync(Caller caller, string teamId, CancellationToken cancellationToken) => throw NotBenched();
    public Task<IReadOnlyList<ApiKeyListing>> ApiKeysAsync(Caller caller, string teamId, CancellationToken cancellationToken) => throw NotBenched();
    public Task<TeamInfo> SetTeamQuotaAsync(Caller caller, string team, TeamQuotaChange change, CancellationToken cancellationToken) => throw NotBenched();
    public Task<WebhookInfo> CreateWebhookAsync(Caller caller, string url, IReadOnlyList<SandboxEventKind> events, string secret, CancellationToken cancellationToken) => throw NotBenched();
    public Task<IReadOnlyList<WebhookInfo>> WebhooksAsync(Caller caller, CancellationToken cancellationToken) => throw NotBenched();
    public Task<bool> DeleteWebhookAsync(Caller caller, string id, CancellationToken cancellationToken) => throw NotBenched();
    public Task<IReadOnlyList<WebhookDeliveryInfo>> WebhookDeliveriesAsync(Caller caller, string? webhookId, string? sandboxId, int first, CancellationToken cancellationToken) => throw NotBenched();
}
