namespace Wrenn.Testing;

/// <summary>
/// The one machine-wide gate for tests that boot VMs or change host networking: at most
/// <see cref="Slots"/> holders at once, across every test process on the machine (CI, a
/// developer's run and a benchmark may overlap). Each slot is a lock file under /run/wrenn held
/// with an exclusive file lock, so a crashed holder releases its slot with its process.
/// </summary>
public static class MachineGate
{
    /// <summary>How many VMs may boot at once on this 2-core machine under TCG.</summary>
    public const int Slots = 2;

    private const string Folder = "/run/wrenn/test-gate";

    /// <summary>Waits (up to <paramref name="timeout"/>, default 15 minutes) for a slot and returns it; dispose to release.</summary>
    public static async Task<IDisposable> EnterAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(Folder);
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(15));
        while (true)
        {
            for (var slot = 0; slot < Slots; slot++)
            {
                try
                {
                    // On Unix, FileShare.None takes flock(LOCK_EX | LOCK_NB): another holder makes this throw.
                    return new FileStream(Path.Combine(Folder, $"slot{slot}.lock"), FileMode.OpenOrCreate,
                        FileAccess.ReadWrite, FileShare.None);
                }
                catch (IOException)
                {
                    // Taken; try the next slot.
                }
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"No machine gate slot came free within {timeout}: is another test run stuck? Holders keep {Folder}/slot*.lock open.");
            await Task.Delay(200, cancellationToken);
        }
    }
}
