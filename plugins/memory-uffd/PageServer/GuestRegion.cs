using System.Text.Json;
using System.Text.Json.Serialization;

namespace Wrenn.Plugins.Memory.Uffd.PageServer;

/// <summary>
/// One guest memory region as the VMM maps it and tells the page server (Firecracker's
/// GuestRegionUffdMapping): where it starts in the VMM's address space, how big it is, where it
/// starts in guest memory (the snapshot's offset), and its page size.
/// </summary>
public sealed record GuestRegion(
    [property: JsonPropertyName("base_host_virt_addr")] ulong BaseHostVirtAddr,
    [property: JsonPropertyName("size")] ulong Size,
    [property: JsonPropertyName("offset")] ulong Offset,
    [property: JsonPropertyName("page_size")] ulong PageSize = 0,
    [property: JsonPropertyName("page_size_kib")] ulong PageSizeKib = 0)
{
    /// <summary>Newer Firecracker sends page_size (bytes), older page_size_kib.</summary>
    public ulong Page => PageSize != 0 ? PageSize : PageSizeKib != 0 ? PageSizeKib * 1024 : 4096;

    public bool Contains(ulong address) => address >= BaseHostVirtAddr && address < BaseHostVirtAddr + Size;

    public static IReadOnlyList<GuestRegion> ParseAll(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize<List<GuestRegion>>(json) is { Count: > 0 } regions
            ? regions
            : throw new InvalidDataException("The VMM sent no guest memory regions.");
}
