using Wrenn.Grains.Ids;

namespace Wrenn.Silo.Tests.Ids;

public sealed class PrefixedIdTests
{
    [Fact]
    public void A_sandbox_id_round_trips_through_its_wire_format()
    {
        var id = SandboxId.New();
        var text = id.ToString();
        Assert.StartsWith("sb-", text);
        Assert.Equal(id, SandboxId.Parse(text));
    }

    [Theory]
    [InlineData("tpl-6f1c2a5e-8d3b-4c1e-9f2a-1b2c3d4e5f60")]
    [InlineData("sb-not-a-uuid")]
    [InlineData("sb6f1c2a5e-8d3b-4c1e-9f2a-1b2c3d4e5f60")]
    [InlineData("")]
    public void A_sandbox_id_refuses_text_that_is_not_one(string text)
    {
        Assert.False(SandboxId.TryParse(text, null, out _));
        var error = Assert.Throws<FormatException>(() => SandboxId.Parse(text));
        Assert.Contains("sandbox id", error.Message);
    }

    [Fact]
    public void Template_and_host_ids_carry_their_own_prefixes()
    {
        Assert.StartsWith("tpl-", TemplateId.New().ToString());
        Assert.StartsWith("host-", HostId.New().ToString());
        var host = HostId.New();
        Assert.Equal(host, HostId.Parse(host.ToString()));
    }
}
