namespace Wrenn.Grains.Sandboxes;

[GenerateSerializer]
[Alias("wrenn.Role")]
public enum Role { Member, Admin }

/// <summary>
/// Who makes a call: the team everything is scoped to and the API key used. Every grain method of
/// the platform takes it first and checks it: a sandbox or template of another team is NOT_FOUND.
/// </summary>
/// <param name="KeyId">The API key's id (null for the silo itself: reconciler, timeouts).</param>
[GenerateSerializer]
[Alias("wrenn.Caller")]
public sealed record Caller([Id(0)] string TeamId, [Id(1)] string? KeyId, [Id(2)] Role Role)
{
    /// <summary>The silo acting on its own behalf; only internal paths use it.</summary>
    public static Caller System { get; } = new("system", null, Role.Admin);

    public bool IsSystem => TeamId == System.TeamId && KeyId is null;
}
