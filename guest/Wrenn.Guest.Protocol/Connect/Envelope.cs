using System.Buffers.Binary;

namespace Wrenn.Guest.Protocol.Connect;

/// <summary>
/// Streaming Connect messages travel in envelopes: one flags byte, a 4-byte big-endian length,
/// then the message. Flag 0x02 marks the end-of-stream message (JSON with an optional error).
/// </summary>
public static class Envelope
{
    public const byte EndStreamFlag = 0x02;
    public const byte CompressedFlag = 0x01;

    /// <summary>Messages larger than this are refused, so a bad peer cannot make us allocate without bound.</summary>
    public const int MaxMessageBytes = 16 * 1024 * 1024;

    public static async Task WriteAsync(Stream stream, byte flags, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var header = new byte[5];
        header[0] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), (uint)payload.Length);
        await stream.WriteAsync(header, cancellationToken);
        await stream.WriteAsync(payload, cancellationToken);
    }

    /// <summary>Reads one envelope, or returns null at a clean end of the stream.</summary>
    public static async Task<(byte Flags, byte[] Payload)?> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var header = new byte[5];
        var read = await ReadFullyAsync(stream, header, cancellationToken);
        if (read == 0)
            return null;
        if (read < header.Length)
            throw new ConnectException(ConnectCode.DataLoss, "The stream ended inside an envelope header.");
        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1));
        if (length > MaxMessageBytes)
            throw new ConnectException(ConnectCode.ResourceExhausted, $"An envelope of {length} bytes exceeds the limit of {MaxMessageBytes}.");
        if ((header[0] & CompressedFlag) != 0)
            throw new ConnectException(ConnectCode.Unimplemented, "Compressed envelopes are not supported (only identity encoding).");
        var payload = new byte[length];
        if (await ReadFullyAsync(stream, payload, cancellationToken) < payload.Length)
            throw new ConnectException(ConnectCode.DataLoss, "The stream ended inside an envelope.");
        return (header[0], payload);
    }

    private static async Task<int> ReadFullyAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken);
            if (n == 0)
                break;
            total += n;
        }
        return total;
    }
}
