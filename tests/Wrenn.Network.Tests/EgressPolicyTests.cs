using Wrenn.Abstractions.Network;

namespace Wrenn.Network.Tests;

/// <summary>The contract's egress policy: what <see cref="EgressPolicy.Create"/> accepts, and which names it allows.</summary>
public sealed class EgressPolicyTests
{
    [Fact]
    public void Entries_are_normalised_a_bare_address_becoming_a_32()
    {
        var policy = EgressPolicy.Create(false, [" 10.1.2.3 ", "192.168.0.0/16", "Example.COM.", "*.Example.org"], ["8.8.8.8/32"]);

        Assert.Equal(["10.1.2.3/32", "192.168.0.0/16", "example.com", "*.example.org"], policy.Allow);
        Assert.Equal(["8.8.8.8/32"], policy.Deny);
        Assert.Equal(["10.1.2.3/32", "192.168.0.0/16"], EgressPolicy.Cidrs(policy.AllowEntries).Select(c => c.ToString()));
    }

    [Fact]
    public void A_repeated_entry_is_kept_once() =>
        Assert.Equal(["example.com"], EgressPolicy.Create(false, ["example.com", "EXAMPLE.com."], null).Allow);

    [Theory]
    [InlineData("10.0.0.0/33")]
    [InlineData("999.1.1.1")]
    [InlineData("2001:db8::/32")]
    [InlineData("2001:db8::1")]
    [InlineData("exa mple.com")]
    [InlineData("-bad.example.com")]
    [InlineData("bad-.example.com")]
    [InlineData("a..b")]
    [InlineData("*.")]
    [InlineData("**.example.com")]
    [InlineData("example.*.com")]
    [InlineData("ex@mple.com")]
    public void A_bad_entry_is_refused_and_named(string entry)
    {
        var error = Assert.Throws<EgressPolicyException>(() => EgressPolicy.Create(true, null, ["example.com", entry]));

        Assert.Equal("deny", error.List);
        Assert.Equal(entry, error.Entry);
        Assert.Contains($"\"{entry}\"", error.Message);
        Assert.StartsWith("network.deny:", error.Message);
    }

    [Theory]
    [InlineData("10.0.0.1/24")] // host bits set
    [InlineData("10.0.0/24")] // .NET reads it as 10.0.0.0
    [InlineData("10/8")] // .NET reads it as 0.0.0.10, masked to 0.0.0.0/8
    [InlineData("10.1")] // .NET reads it as 10.0.0.1
    public void A_CIDR_with_host_bits_set_or_a_shortened_address_is_refused_and_named(string entry)
    {
        var error = Assert.Throws<EgressPolicyException>(() => EgressPolicy.Create(false, [entry], null));

        Assert.Equal(entry, error.Entry);
        Assert.Contains($"\"{entry}\"", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void An_empty_entry_is_refused(string entry)
    {
        var error = Assert.Throws<EgressPolicyException>(() => EgressPolicy.Create(false, [entry], null));

        Assert.Equal("allow", error.List);
        Assert.Contains("empty", error.Message);
    }

    [Fact]
    public void A_label_longer_than_63_is_refused() =>
        Assert.Throws<EgressPolicyException>(() => EgressPolicy.Create(false, [new string('a', 64) + ".com"], null));

    [Fact]
    public void A_list_of_1000_entries_is_taken_and_one_of_1001_refused()
    {
        var entries = Enumerable.Range(0, EgressPolicy.MaxEntries + 1).Select(i => $"10.{i / 256}.{i % 256}.0/24").ToList();

        Assert.Equal(EgressPolicy.MaxEntries, EgressPolicy.Create(false, entries.Take(EgressPolicy.MaxEntries), null).Allow.Count);
        var error = Assert.Throws<EgressPolicyException>(() => EgressPolicy.Create(false, entries, null));
        Assert.Contains("more than 1000", error.Message);
        Assert.Equal("allow", error.List);
    }

    [Fact]
    public void With_the_internet_off_only_allowed_names_are_allowed()
    {
        var policy = EgressPolicy.Create(false, ["example.com", "*.example.org", "10.0.0.0/8"], null);

        Assert.True(policy.AllowsName("example.com"));
        Assert.True(policy.AllowsName("EXAMPLE.com."));
        Assert.False(policy.AllowsName("www.example.com"));
        Assert.True(policy.AllowsName("www.example.org"));
        Assert.True(policy.AllowsName("a.b.example.org"));
        Assert.False(policy.AllowsName("example.org"));
        Assert.False(policy.AllowsName("badexample.org"));
        Assert.False(policy.AllowsName("other.net"));
        Assert.False(EgressPolicy.Closed.AllowsName("example.com"));
    }

    [Fact]
    public void With_the_internet_on_every_name_is_allowed_but_a_denied_one()
    {
        var policy = EgressPolicy.Create(true, null, ["*.ads.example", "tracker.example"]);

        Assert.True(policy.AllowsName("example.com"));
        Assert.True(policy.AllowsName("ads.example"));
        Assert.False(policy.AllowsName("x.ads.example"));
        Assert.False(policy.AllowsName("Tracker.Example."));
        Assert.True(EgressPolicy.Open.AllowsName("anything.at.all"));
    }

    [Fact]
    public void A_denied_name_beats_an_allowed_one()
    {
        var policy = EgressPolicy.Create(false, ["*.example.com"], ["secret.example.com"]);

        Assert.True(policy.AllowsName("www.example.com"));
        Assert.False(policy.AllowsName("secret.example.com"));
    }

    [Fact]
    public void Policies_with_the_same_entries_are_equal() =>
        Assert.Equal(EgressPolicy.Create(false, ["Example.com", "10.0.0.1"], null), EgressPolicy.Create(false, ["example.com", "10.0.0.1/32"], []));
}
