using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Backend;

public sealed record NewSandboxRequest(string Template, int Vcpus, int MemoryMib, int TimeoutSeconds, IReadOnlyDictionary<string, string> Metadata,
    NetworkPolicy? Network = null, SandboxLifecycle? Lifecycle = null);

public sealed record SandboxPage(IReadOnlyList<SandboxInfo> Sandboxes, bool HasNextPage);

public sealed record TeamInfo(string Id, string Name, DateTimeOffset CreatedAt);

public sealed record NewApiKeyInfo(string Id, string TeamId, bool Admin, string Key, DateTimeOffset? ExpiresAt = null);

/// <summary>A key as a team's list shows it: its hint, never its secret.</summary>
public sealed record ApiKeyListing(string Id, string TeamId, bool Admin, string Hint, DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);

/// <summary>What a team may use at once; null is no limit.</summary>
public sealed record TeamQuotaInfo(int? MaxRunningSandboxes, int? MaxVcpus, int? MaxMemoryMib, int? MaxPausedSandboxes);

/// <summary>What a team's sandboxes hold now (starting and resuming ones count as running).</summary>
public sealed record TeamUsageInfo(int RunningSandboxes, int Vcpus, int MemoryMib, int PausedSandboxes);

/// <summary>One limit of setTeamQuota: omitted (left as it is) or given (null removes the limit).</summary>
public readonly record struct QuotaLimitArgument(bool Given, int? Value);

public sealed record TeamQuotaChange(QuotaLimitArgument MaxRunningSandboxes, QuotaLimitArgument MaxVcpus, QuotaLimitArgument MaxMemoryMib, QuotaLimitArgument MaxPausedSandboxes);

public sealed record PortUrlInfo(string Url, DateTimeOffset ExpiresAt);

/// <summary>
/// What the API needs from the silo beyond the grain interfaces: authentication, creating (which
/// picks a host), listing, batched look-ups, pushed changes, teams and keys. The silo implements it;
/// the API knows nothing else of it.
/// </summary>
public interface IWrennBackend
{
    /// <summary>The caller an API key stands for, or null.</summary>
    Task<Caller?> AuthenticateAsync(string apiKey, CancellationToken cancellationToken);

    Task<SandboxInfo> CreateSandboxAsync(Caller caller, NewSandboxRequest request, CancellationToken cancellationToken);

    /// <summary>The sandbox's grain; NOT_FOUND for something that is not a sandbox id.</summary>
    ISandboxGrain Sandbox(string id);

    Task<SandboxPage> ListSandboxesAsync(Caller caller, SandboxState? state, string? after, int first, CancellationToken cancellationToken);

    Task<IReadOnlyList<TemplateInfo>> TemplatesAsync(Caller caller, CancellationToken cancellationToken);

    /// <summary>A template by name (the caller's team first, then public ones) or id.</summary>
    Task<TemplateInfo?> TemplateAsync(Caller caller, string nameOrId, CancellationToken cancellationToken);

    /// <summary>Templates by id in one call (a page of sandboxes names theirs); ids the caller cannot see, or deleted ones, are absent.</summary>
    Task<IReadOnlyDictionary<string, TemplateInfo>> TemplatesByIdAsync(Caller caller, IReadOnlyCollection<string> ids, CancellationToken cancellationToken);

    Task DeleteTemplateAsync(Caller caller, string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<HostInfo>> HostsAsync(Caller caller, CancellationToken cancellationToken);

    /// <summary>Hosts by name in one call, asking only those hosts; names that are not live members of the cluster are absent.</summary>
    Task<IReadOnlyDictionary<string, HostInfo>> HostsByNameAsync(Caller caller, IReadOnlyCollection<string> names, CancellationToken cancellationToken);

    /// <summary>
    /// Every write of a sandbox record of the caller's team (or of one sandbox), pushed as it happens,
    /// from the moment of the call until <paramref name="cancellationToken"/> ends it. Waiting costs no calls.
    /// </summary>
    IAsyncEnumerable<SandboxChange> SandboxChangesAsync(Caller caller, string? sandboxId, CancellationToken cancellationToken);

    Task<TeamInfo> TeamAsync(Caller caller, CancellationToken cancellationToken);

    /// <summary>Admin keys only: FORBIDDEN otherwise.</summary>
    Task<TeamInfo> CreateTeamAsync(Caller caller, string name, CancellationToken cancellationToken);

    /// <summary>Admin keys only. BAD_USER_INPUT for an expiry that is not in the future.</summary>
    Task<NewApiKeyInfo> CreateApiKeyAsync(Caller caller, string team, bool admin, DateTimeOffset? expiresAt, CancellationToken cancellationToken);

    Task<bool> RevokeApiKeyAsync(Caller caller, string keyId, CancellationToken cancellationToken);

    /// <summary>
    /// A URL that reaches <paramref name="port"/> of a sandbox of the caller's team without a key for
    /// <paramref name="ttlSeconds"/>, made on <paramref name="origin"/> (the address the request came to)
    /// unless the silo has a public URL configured.
    /// </summary>
    Task<PortUrlInfo> CreatePortUrlAsync(Caller caller, string sandboxId, int port, int ttlSeconds, Uri? origin, CancellationToken cancellationToken);

    /// <summary>The caller's own team by name or id, or (admin keys) any team; null for any other.</summary>
    Task<TeamInfo?> FindTeamAsync(Caller caller, string nameOrId, CancellationToken cancellationToken);

    // A team's quota, use and keys: of the caller's own team, or (admin keys) of any; NOT_FOUND otherwise.
    Task<TeamQuotaInfo> TeamQuotaAsync(Caller caller, string teamId, CancellationToken cancellationToken);

    Task<TeamUsageInfo> TeamUsageAsync(Caller caller, string teamId, CancellationToken cancellationToken);

    Task<IReadOnlyList<ApiKeyListing>> ApiKeysAsync(Caller caller, string teamId, CancellationToken cancellationToken);

    /// <summary>Admin keys only: changes the limits given; BAD_USER_INPUT for a negative or absurd one.</summary>
    Task<TeamInfo> SetTeamQuotaAsync(Caller caller, string team, TeamQuotaChange change, CancellationToken cancellationToken);
    /// <summary>Any key of the team. Bad input (not an http(s) URL, no events, a secret under 16 bytes) is INVALID_ARGUMENT.</summary>
    Task<WebhookInfo> CreateWebhookAsync(Caller caller, string url, IReadOnlyList<SandboxEventKind> events, string secret, CancellationToken cancellationToken);

    Task<IReadOnlyList<WebhookInfo>> WebhooksAsync(Caller caller, CancellationToken cancellationToken);

    /// <summary>False when the team has no such webhook. Its pending deliveries are given up.</summary>
    Task<bool> DeleteWebhookAsync(Caller caller, string id, CancellationToken cancellationToken);

    /// <summary>The team's deliveries, newest first, optionally of one webhook or one sandbox.</summary>
    Task<IReadOnlyList<WebhookDeliveryInfo>> WebhookDeliveriesAsync(Caller caller, string? webhookId, string? sandboxId, int first, CancellationToken cancellationToken);
}
