namespace Wrenn.Plugins.Storage.Devicemapper;

/// <summary>Configuration of the devicemapper storage plugin (<c>Wrenn:Plugins:devicemapper</c>).</summary>
public sealed class DevicemapperOptions
{
    /// <summary>Where the sparse CoW files live; default {data-dir}/disks.</summary>
    public string? DiskDirectory { get; set; }

    /// <summary>dm-snapshot chunk size in 512-byte sectors (8 = 4 KiB, the page size).</summary>
    public int ChunkSectors { get; set; } = 8;
}
