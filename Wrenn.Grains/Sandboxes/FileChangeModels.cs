namespace Wrenn.Grains.Sandboxes;

// A watched folder's changes. Crosses silos: [Alias] and [Id]s are its wire format.

[GenerateSerializer]
[Alias("wrenn.FileChangeKind")]
public enum FileChangeKind { Create, Write, Remove, Rename, Chmod }

/// <summary>One change under a watched folder; paths are absolute in the guest, a rename carries the old one.</summary>
[GenerateSerializer]
[Alias("wrenn.FileChange")]
public sealed record FileChange([Id(0)] FileChangeKind Kind, [Id(1)] string Path, [Id(2)] string? OldPath, [Id(3)] bool IsDirectory);
