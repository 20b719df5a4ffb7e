namespace Wrenn.Abstractions.Vmm;

/// <summary>A full snapshot holds all of guest memory; a diff holds only pages dirtied since the previous one.</summary>
public enum SnapshotKind
{
    Full,
    Diff,
}

/// <summary>Asks a VMM for a snapshot.</summary>
/// <param name="Directory">An existing, empty folder to write into.</param>
/// <param name="Kind">Full or Diff (only if <see cref="VmmCapabilities.DiffSnapshots"/>).</param>
public sealed record SnapshotRequest(string Directory, SnapshotKind Kind);

/// <summary>
/// The files of one snapshot. <see cref="StateFile"/> holds the VM's device and vCPU state;
/// <see cref="MemoryFiles"/> hold guest RAM (one file for a full snapshot; for a diff chain,
/// the memory plugin knows how to read them).
/// </summary>
/// <param name="Directory">The folder that holds them.</param>
/// <param name="StateFile">Device and vCPU state.</param>
/// <param name="MemoryFiles">Guest memory, oldest generation first.</param>
/// <param name="Kind">How it was taken.</param>
/// <param name="MemoryMib">Guest RAM size; a restore must use the same.</param>
/// <param name="Vcpus">vCPU count; a restore must use the same.</param>
/// <param name="Properties">The VMM's and memory plugin's own facts (header path, generation …).</param>
public sealed record SnapshotFiles(
    string Directory,
    string StateFile,
    IReadOnlyList<string> MemoryFiles,
    SnapshotKind Kind,
    int MemoryMib,
    int Vcpus,
    IReadOnlyDictionary<string, string> Properties);
