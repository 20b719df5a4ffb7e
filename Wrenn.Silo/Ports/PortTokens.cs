using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using Wrenn.Grains.Ids;

namespace Wrenn.Silo.Ports;

/// <summary>What a port URL's token lets its holder reach: one port of one sandbox, until it expires.</summary>
public sealed record PortGrant(string SandboxId, int Port, DateTimeOffset ExpiresAt);

/// <summary>
/// Port URL tokens: the grant in 27 bytes (a format version, the sandbox's UUID, the port, the expiry
/// in Unix seconds) followed by the first 16 bytes of its HMAC-SHA256 under the cluster's signing key,
/// base64url (58 characters, safe in a path segment). Every silo holds the same key (kept in the
/// database), so any silo verifies what another signed. A token carries no team: it names one sandbox,
/// and the sandbox's grain refuses it once that sandbox is gone.
/// </summary>
public sealed class PortTokens
{
    public const int KeyBytes = 32;
    private const byte Version = 1;
    private const int PayloadBytes = 1 + 16 + 2 + 8;
    private const int MacBytes = 16;
    private const int TokenBytes = PayloadBytes + MacBytes;

    /// <summary>Characters of a token: base64url of its bytes, unpadded.</summary>
    public static readonly int TokenLength = Base64Url.GetEncodedLength(TokenBytes);

    private static readonly byte[] Purpose = "wrenn/port-url/v1\0"u8.ToArray();
    private byte[]? _key;

    /// <summary>Takes the cluster's key (loaded at start).</summary>
    public void UseKey(byte[] key) =>
        _key = key.Length >= KeyBytes ? key : throw new ArgumentException($"A port URL signing key needs at least {KeyBytes} bytes (got {key.Length}).", nameof(key));

    private byte[] Key => _key ?? throw new InvalidOperationException("The port URL signing key is not loaded yet: the silo is still starting.");

    public string Sign(PortGrant grant)
    {
        Span<byte> token = stackalloc byte[TokenBytes];
        token[0] = Version;
        SandboxId.Parse(grant.SandboxId).Value.TryWriteBytes(token.Slice(1, 16), bigEndian: true, out _);
        BinaryPrimitives.WriteUInt16BigEndian(token.Slice(17, 2), checked((ushort)grant.Port));
        BinaryPrimitives.WriteInt64BigEndian(token.Slice(19, 8), grant.ExpiresAt.ToUnixTimeSeconds());
        Mac(token[..PayloadBytes], token[PayloadBytes..]);
        return Base64Url.EncodeToString(token);
    }

    /// <summary>The grant a token carries if its signature holds and it has not expired; otherwise why not.</summary>
    public PortTokenCheck Verify(string token, DateTimeOffset now)
    {
        Span<byte> bytes = stackalloc byte[TokenBytes];
        // IsValid first: TryDecodeFromChars throws on a character outside base64url rather than answering false.
        if (token.Length != TokenLength || !Base64Url.IsValid(token) || !Base64Url.TryDecodeFromChars(token, bytes, out var written) || written != TokenBytes || bytes[0] != Version)
            return PortTokenCheck.Refused("This is not a port URL token.");
        Span<byte> expected = stackalloc byte[MacBytes];
        Mac(bytes[..PayloadBytes], expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, bytes[PayloadBytes..]))
            return PortTokenCheck.Refused("The port URL's token is not valid (its signature does not hold).");
        var grant = new PortGrant(
            new SandboxId(new Guid(bytes.Slice(1, 16), bigEndian: true)).ToString(),
            BinaryPrimitives.ReadUInt16BigEndian(bytes.Slice(17, 2)),
            DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64BigEndian(bytes.Slice(19, 8))));
        return grant.ExpiresAt <= now
            ? PortTokenCheck.Refused($"The port URL expired at {grant.ExpiresAt:u}: create a new one (createPortUrl).")
            : new PortTokenCheck(grant, null);
    }

    private void Mac(ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[Purpose.Length + PayloadBytes];
        Purpose.CopyTo(input);
        payload.CopyTo(input[Purpose.Length..]);
        Span<byte> full = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(Key, input, full);
        full[..MacBytes].CopyTo(destination);
    }
}

/// <summary>A verified grant, or the reason a token was refused (for the 401's body).</summary>
public sealed record PortTokenCheck(PortGrant? Grant, string? Problem)
{
    public static PortTokenCheck Refused(string problem) => new(null, problem);
}
