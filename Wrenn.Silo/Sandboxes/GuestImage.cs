using System.Text.Json;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Silo.Sandboxes;

/// <summary>A bootable guest: kernel, initramfs and the root filesystem sandboxes' disks are layered over.</summary>
public sealed record GuestImage(KernelImage Kernel, BaseImage RootFilesystem)
{
    /// <summary>Reads the manifest.json that guest/image/build writes beside the image.</summary>
    public static GuestImage FromDirectory(string directory)
    {
        var manifestPath = Path.Combine(directory, "manifest.json");
        if (!File.Exists(manifestPath))
            throw new FileNotFoundException($"No guest image in {directory} (manifest.json is missing): run scripts/setup to build it.", manifestPath);
        using var manifest = JsonDocument.Parse(File.ReadAllText(manifestPath));
        string Field(string name) => manifest.RootElement.GetProperty(name).GetString()
            ?? throw new InvalidDataException($"{manifestPath} lacks '{name}'.");
        var rootfs = Field("rootfs");
        return new GuestImage(
            new KernelImage(Field("kernel"), Field("initrd"), Field("vmlinux")),
            new BaseImage($"base-{Field("rootfsKey")}", rootfs, "raw", new FileInfo(rootfs).Length));
    }
}
