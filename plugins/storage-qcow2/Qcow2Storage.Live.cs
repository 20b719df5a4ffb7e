using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;

namespace Wrenn.Plugins.Storage.Qcow2;

/// <summary>
/// Freezing a disk in use (a fork of a running sandbox): the overlay is renamed into the fork's
/// folder (the VM keeps it open, so a rename is all it takes) and a fresh overlay over it is made at
/// the disk's path, which the VMM switches the running VM to. Nothing is copied.
/// </summary>
public sealed partial class Qcow2Storage : ILiveDiskSnapshot
{
    public async Task<LiveDiskFreeze> FreezeLiveAsync(PreparedDisk disk, string destinationDirectory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(destinationDirectory);
        var frozen = Path.Combine(destinationDirectory, "disk.qcow2");
        var header = Qcow2Header.Read(disk.Path) ?? throw new InvalidDataException($"The disk of {disk.SandboxId} ('{disk.Path}') is not a qcow2 image.");
        var owner = await OwnerAsync(disk.Path, cancellationToken);
        var mode = File.GetUnixFileMode(disk.Path);
        File.Move(disk.Path, frozen);
        try
        {
            // -u: the backing is not opened (the paused VM still holds it); its size comes from its header.
            await HostCommand.RunAsync(options.Value.QemuImg,
                ["create", "-q", "-f", "qcow2", "-u", "-b", frozen, "-F", "qcow2", disk.Path, header.Size.ToString(CultureInfo.InvariantCulture)], cancellationToken);
            // Read-only and the silo's: children's VMs only read it, and the source's jail must not change it.
            File.SetUnixFileMode(frozen, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            Chown(frozen, 0, 0);
        }
        catch
        {
            File.Delete(disk.Path);
            File.Move(frozen, disk.Path);
            throw;
        }
        LogFrozenLive(disk.SandboxId, frozen);
        var image = new BaseImage($"frozen-{disk.SandboxId}-{Path.GetFileName(destinationDirectory)}", frozen, "qcow2", header.Size);
        var now = disk with { Properties = new Dictionary<string, string>(disk.Properties) { ["base"] = frozen, ["baseId"] = image.Id } };
        return new LiveDiskFreeze(image, now, disk, new Dictionary<string, string>
        {
            ["uid"] = owner.Uid.ToString(CultureInfo.InvariantCulture),
            ["gid"] = owner.Gid.ToString(CultureInfo.InvariantCulture),
            ["mode"] = ((int)mode).ToString(CultureInfo.InvariantCulture),
        });
    }

    public Task UndoFreezeLiveAsync(LiveDiskFreeze freeze, CancellationToken cancellationToken)
    {
        File.Delete(freeze.Disk.Path);
        File.Move(freeze.Frozen.Path, freeze.Previous.Path);
        File.SetUnixFileMode(freeze.Previous.Path, (UnixFileMode)int.Parse(freeze.Properties["mode"], CultureInfo.InvariantCulture));
        Chown(freeze.Previous.Path, int.Parse(freeze.Properties["uid"], CultureInfo.InvariantCulture), int.Parse(freeze.Properties["gid"], CultureInfo.InvariantCulture));
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> LayersAsync(string imagePath, CancellationToken cancellationToken) =>
        Task.FromResult(File.Exists(imagePath) ? Qcow2Header.Chain(imagePath) : (IReadOnlyList<string>)[]);

    private static async Task<(int Uid, int Gid)> OwnerAsync(string path, CancellationToken cancellationToken)
    {
        var ids = (await HostCommand.RunAsync("stat", ["-c", "%u %g", path], cancellationToken)).Trim().Split(' ');
        return (int.Parse(ids[0], CultureInfo.InvariantCulture), int.Parse(ids[1], CultureInfo.InvariantCulture));
    }

    private static void Chown(string path, int uid, int gid)
    {
        if (chown(path, uid, gid) != 0)
            throw new IOException($"chown {path} failed (errno {Marshal.GetLastPInvokeError()}).");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int chown(string path, int owner, int group);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Disk of {SandboxId} frozen in use into {Frozen}; a fresh overlay takes its place")]
    private partial void LogFrozenLive(string sandboxId, string frozen);
}
