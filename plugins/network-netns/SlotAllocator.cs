using Wrenn.Abstractions.Network;

namespace Wrenn.Plugins.Network.Netns;

/// <summary>
/// Hands out slot numbers machine-wide. A slot is taken by creating its file with O_EXCL, which is
/// atomic across processes, so two silos or test runs never get the same slot; the file names its
/// owner prefix, sandbox and process so that a reconciler or sweep can tell whose it is.
/// Slot files live under /run (tmpfs): a reboot, which also removes every netns, frees them all.
/// </summary>
public sealed class SlotAllocator(string directory, int maxSlots)
{
    public int Take(string ownerPrefix, string sandboxId)
    {
        Directory.CreateDirectory(directory);
        for (var index = 0; index < maxSlots; index++)
        {
            try
            {
                using var file = new FileStream(PathOf(index), FileMode.CreateNew, FileAccess.Write);
                using var writer = new StreamWriter(file);
                writer.Write($"{ownerPrefix} {sandboxId} {Environment.ProcessId}\n");
                return index;
            }
            catch (IOException) when (File.Exists(PathOf(index)))
            {
                // Taken by someone else: try the next.
            }
        }
        throw new CapacityException($"All {maxSlots} network slots are in use (slot files in {directory}). Destroy sandboxes or raise Wrenn:Plugins:netns:MaxSlots.");
    }

    public void Free(int index) => File.Delete(PathOf(index));

    /// <summary>The slots whose owner is <paramref name="ownerPrefix"/>, with the sandbox each holds.</summary>
    public IEnumerable<(int Index, string SandboxId)> OwnedBy(string ownerPrefix)
    {
        if (!Directory.Exists(directory))
            yield break;
        foreach (var path in Directory.EnumerateFiles(directory))
        {
            if (!int.TryParse(Path.GetFileName(path), out var index))
                continue;
            string[] fields;
            try
            {
                fields = File.ReadAllText(path).Split(' ', StringSplitOptions.TrimEntries);
            }
            catch (IOException)
            {
                continue; // freed while we looked
            }
            if (fields.Length >= 2 && fields[0] == ownerPrefix)
                yield return (index, fields[1]);
        }
    }

    private string PathOf(int index) => Path.Combine(directory, index.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
