using System.Net;

namespace Wrenn.Silo.Ports;

/// <summary>
/// A forwarded request body, flushed to the connection after every piece. Yarp flushes HttpClient's
/// own write buffer only for gRPC over HTTP/2; for anything else the last few KiB a client streamed
/// wait in that buffer until more arrives, so an upload that pauses (a client streaming events into
/// the guest, a large file sent in parts) would stall short of what was sent.
/// </summary>
internal sealed class FlushingContent : HttpContent
{
    private readonly HttpContent _body;

    public FlushingContent(HttpContent body)
    {
        _body = body;
        foreach (var header in body.Headers)
            Headers.TryAddWithoutValidation(header.Key, header.Value);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => _body.CopyToAsync(new FlushingStream(stream), context);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        _body.CopyToAsync(new FlushingStream(stream), context, cancellationToken);

    protected override bool TryComputeLength(out long length)
    {
        length = _body.Headers.ContentLength ?? 0;
        return _body.Headers.ContentLength is not null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _body.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>Writes through to the connection's stream, flushing after each write.</summary>
    private sealed class FlushingStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken);
            await inner.FlushAsync(cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            inner.Flush();
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
