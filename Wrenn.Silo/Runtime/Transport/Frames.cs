using System.Buffers.Binary;

namespace Wrenn.Silo.Runtime.Transport;

/// <summary>
/// A response between silos is a sequence of frames: one byte of type, four bytes of big-endian
/// length, then the payload (JSON). A unary call answers [Item] End or Error; a streaming call
/// answers Item* then End or Error. Frames are flushed one by one, so items arrive as produced and
/// HTTP/2 flow control carries back-pressure to the producer.
/// </summary>
internal enum FrameType : byte
{
    Item = 1,
    End = 2,
    Error = 3,
}

internal static class Frames
{
    public const string ContentType = "application/x-wrenn-frames";
    private const int MaxFrame = 256 * 1024 * 1024;

    public static async Task WriteAsync(Stream body, FrameType type, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var header = new byte[5];
        header[0] = (byte)type;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(1), payload.Length);
        await body.WriteAsync(header, cancellationToken);
        if (!payload.IsEmpty)
            await body.WriteAsync(payload, cancellationToken);
        await body.FlushAsync(cancellationToken);
    }

    /// <summary>The next frame, or null when the stream ended without one (the other side went away).</summary>
    public static async Task<(FrameType Type, byte[] Payload)?> ReadAsync(Stream body, CancellationToken cancellationToken)
    {
        var header = new byte[5];
        if (!await ReadExactlyOrEndAsync(body, header, cancellationToken))
            return null;
        var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
        if (length is < 0 or > MaxFrame || header[0] is < 1 or > 3)
            throw new InvalidDataException($"A silo sent a malformed frame (type {header[0]}, length {length}); are the silos running the same version?");
        var payload = new byte[length];
        if (!await ReadExactlyOrEndAsync(body, payload, cancellationToken))
            throw new IOException("The other silo closed the call in the middle of a frame.");
        return ((FrameType)header[0], payload);
    }

    private static async Task<bool> ReadExactlyOrEndAsync(Stream body, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await body.ReadAsync(buffer[read..], cancellationToken);
            if (n == 0)
                return read == 0 && buffer.Length > 0 ? false : throw new IOException("The other silo closed the call in the middle of a frame.");
            read += n;
        }
        return true;
    }
}
