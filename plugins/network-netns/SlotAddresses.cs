using System.Buffers.Binary;
using System.Net;

namespace Wrenn.Plugins.Network.Netns;

/// <summary>
/// Slot numbers map to addresses deterministically, so any process can find a slot's addresses
/// from its number alone. The guest side is the same in every slot: a snapshot restores anywhere.
/// </summary>
public static class SlotAddresses
{
    public static readonly IPAddress GuestAddress = IPAddress.Parse("169.254.0.21");
    public static readonly IPAddress TapAddress = IPAddress.Parse("169.254.0.22");
    public const int GuestPrefixLength = 30;
    public const string GuestMac = "06:00:a9:fe:00:15";

    /// <summary>The root namespace's end of slot <paramref name="index"/>'s veth pair.</summary>
    public static IPAddress HostEnd(IPAddress slotBase, int index) => Offset(slotBase, index * 4 + 1);

    /// <summary>The namespace's end of the veth pair: the address the host reaches the guest by.</summary>
    public static IPAddress NamespaceEnd(IPAddress slotBase, int index) => Offset(slotBase, index * 4 + 2);

    /// <summary>The CIDR covering every slot, for the egress masquerade rule.</summary>
    public static string Range(IPAddress slotBase, int maxSlots)
    {
        var prefix = 32 - (int)Math.Ceiling(Math.Log2(maxSlots * 4.0));
        return $"{slotBase}/{prefix}";
    }

    private static IPAddress Offset(IPAddress address, int offset)
    {
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        BinaryPrimitives.WriteUInt32BigEndian(bytes, BinaryPrimitives.ReadUInt32BigEndian(bytes) + (uint)offset);
        return new IPAddress(bytes);
    }
}
