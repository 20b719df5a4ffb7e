namespace Wrenn.Grains.Sandboxes;

/// <summary>
/// A child of a fork, as its source asks its grain to start it (on the source's host): restored from
/// the fork's frozen state in <see cref="ForkDirectory"/>, in the source's team, template, size,
/// metadata, network policy, lifecycle settings and deadline.
/// </summary>
[GenerateSerializer]
[Alias("wrenn.ForkChild")]
public sealed record ForkChild(
    [Id(0)] string SourceId,
    [Id(1)] string ForkDirectory,
    [Id(2)] string TeamId,
    [Id(3)] string TemplateId,
    [Id(4)] int Vcpus,
    [Id(5)] int MemoryMib,
    [Id(6)] DateTimeOffset? Deadline,
    [Id(7)] IReadOnlyDictionary<string, string> Metadata,
    [Id(8)] NetworkPolicy? Network = null,
    [Id(9)] SandboxLifecycle? Lifecycle = null);
