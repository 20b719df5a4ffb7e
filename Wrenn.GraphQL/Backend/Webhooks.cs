namespace Wrenn.GraphQL.Backend;

/// <summary>What happened to a sandbox, as webhooks name it.</summary>
public enum SandboxEventKind { Created, Running, Paused, Resumed, Destroyed, TimedOut, Failed, Lost }

public enum WebhookDeliveryStatus { Pending, Delivered, Failed }

/// <summary>A team's receiver of sandbox events (its secret is never shown again).</summary>
public sealed record WebhookInfo(string Id, string Url, IReadOnlyList<SandboxEventKind> Events, DateTimeOffset CreatedAt);

/// <summary>One event sent (or being sent) to one webhook.</summary>
public sealed record WebhookDeliveryInfo(
    string Id,
    string WebhookId,
    string SandboxId,
    SandboxEventKind Event,
    WebhookDeliveryStatus Status,
    int Attempts,
    int? LastStatusCode,
    string? LastError,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DeliveredAt,
    DateTimeOffset? NextAttemptAt);
