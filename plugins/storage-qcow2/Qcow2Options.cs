namespace Wrenn.Plugins.Storage.Qcow2;

/// <summary>Configuration of the qcow2 storage plugin (<c>Wrenn:Plugins:qcow2</c>).</summary>
public sealed class Qcow2Options
{
    /// <summary>Where sandbox overlays live; default {data-dir}/disks.</summary>
    public string? DiskDirectory { get; set; }

    /// <summary>The qemu-img tool.</summary>
    public string QemuImg { get; set; } = "qemu-img";

    /// <summary>Backing layers a template's disk may have before freezing flattens it onto the root image.</summary>
    public int MaxChainDepth { get; set; } = 3;
}
