using System.Security.Cryptography;
using Wrenn.Silo.Ports;

namespace Wrenn.Silo.Tests.Ports;

/// <summary>Port URL tokens: what they carry, and every way a token that was not signed for this grant is refused.</summary>
public sealed class PortTokensTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    private static PortTokens WithKey(byte[] key)
    {
        var tokens = new PortTokens();
        tokens.UseKey(key);
        return tokens;
    }

    [Fact]
    public void A_token_carries_its_sandbox_port_and_expiry_and_fits_a_path_segment()
    {
        var key = RandomNumberGenerator.GetBytes(PortTokens.KeyBytes);
        var grant = new PortGrant($"sb-{Guid.NewGuid()}", 65535, Now.AddHours(1));
        var token = WithKey(key).Sign(grant);

        Assert.Equal(PortTokens.TokenLength, token.Length);
        Assert.Matches("^[A-Za-z0-9_-]+$", token);
        // Another silo with the cluster's key verifies it.
        Assert.Equal(grant, WithKey(key).Verify(token, Now).Grant);
    }

    [Fact]
    public void A_token_is_refused_when_expired_signed_with_another_key_altered_or_not_a_token()
    {
        var key = RandomNumberGenerator.GetBytes(PortTokens.KeyBytes);
        var tokens = WithKey(key);
        var token = tokens.Sign(new PortGrant($"sb-{Guid.NewGuid()}", 8000, Now.AddSeconds(10)));

        Assert.Contains("expired", tokens.Verify(token, Now.AddSeconds(10)).Problem);
        Assert.Contains("signature", WithKey(RandomNumberGenerator.GetBytes(PortTokens.KeyBytes)).Verify(token, Now).Problem);
        for (var i = 0; i < token.Length; i++)
        {
            var altered = token[..i] + (token[i] == 'A' ? 'B' : 'A') + token[(i + 1)..];
            Assert.Null(tokens.Verify(altered, Now).Grant);
        }
        foreach (var garbage in new[] { "", "abc", new string('A', PortTokens.TokenLength), token + "A", token[..^1] + "!" })
            Assert.Null(tokens.Verify(garbage, Now).Grant);
    }

    [Fact]
    public void Without_its_key_a_silo_neither_signs_nor_verifies()
    {
        var tokens = new PortTokens();
        Assert.Throws<InvalidOperationException>(() => tokens.Sign(new PortGrant($"sb-{Guid.NewGuid()}", 80, Now)));
        Assert.Throws<ArgumentException>(() => tokens.UseKey(new byte[8]));
    }
}
