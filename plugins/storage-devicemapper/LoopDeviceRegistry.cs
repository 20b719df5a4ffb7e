using Wrenn.Abstractions.Plugins;

namespace Wrenn.Plugins.Storage.Devicemapper;

/// <summary>
/// One read-only loop device per base image, shared by every sandbox disk layered over it and
/// detached when the last one lets go. A loop device already attached read-only to the image (by
/// this silo before a restart) is adopted rather than attached again.
/// </summary>
public sealed class LoopDeviceRegistry
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Dictionary<string, (string Device, int References)> _byImage = new(StringComparer.Ordinal);

    /// <summary>The loop device of <paramref name="imagePath"/>, attached on first use; counts one more user.</summary>
    public async Task<string> AcquireAsync(string imagePath, CancellationToken cancellationToken)
    {
        var image = Path.GetFullPath(imagePath);
        if (!File.Exists(image))
            throw new FileNotFoundException($"The base image '{image}' does not exist.", image);
        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (_byImage.TryGetValue(image, out var known))
            {
                _byImage[image] = (known.Device, known.References + 1);
                return known.Device;
            }
            var device = await FindAttachedAsync(image, cancellationToken)
                ?? (await HostCommand.RunAsync("losetup", ["--find", "--show", "--read-only", image], cancellationToken)).Trim();
            _byImage[image] = (device, 1);
            return device;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Counts one user less; the last one detaches the loop device.</summary>
    public async Task ReleaseAsync(string imagePath, CancellationToken cancellationToken)
    {
        var image = Path.GetFullPath(imagePath);
        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (!_byImage.TryGetValue(image, out var known))
                return;
            if (known.References > 1)
            {
                _byImage[image] = (known.Device, known.References - 1);
                return;
            }
            _byImage.Remove(image);
            await HostCommand.RunAsync("losetup", ["--detach", known.Device], cancellationToken);
            await WaitDetachedAsync(known.Device, cancellationToken);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Waits until the kernel has let the device go. While something still holds it open (udev probing a
    /// device that just changed, usually) a detach only marks it to clear on last close; the next
    /// acquire must not find it half-gone and the host must be left as it was.
    /// </summary>
    private static async Task WaitDetachedAsync(string device, CancellationToken cancellationToken)
    {
        var backingFile = $"/sys/block/{Path.GetFileName(device)}/loop/backing_file";
        for (var waited = TimeSpan.Zero; File.Exists(backingFile) && waited < TimeSpan.FromSeconds(10); waited += TimeSpan.FromMilliseconds(50))
            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
    }

    /// <summary>How many users an image's loop device has in this process (0 when none).</summary>
    public int References(string imagePath) =>
        _byImage.TryGetValue(Path.GetFullPath(imagePath), out var known) ? known.References : 0;

    /// <summary>A read-only loop device already backed by <paramref name="image"/>, if any.</summary>
    private static async Task<string?> FindAttachedAsync(string image, CancellationToken cancellationToken)
    {
        var listing = await HostCommand.RunAsync("losetup", ["--list", "--noheadings", "--raw", "--output", "NAME,RO,BACK-FILE", "--associated", image], cancellationToken);
        foreach (var line in listing.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ', 3);
            if (fields.Length == 3 && fields[1] == "1" && fields[2].Trim() == image)
                return fields[0];
        }
        return null;
    }
}
