using Wrenn.Silo.Ports;

namespace Wrenn.Silo.Tests.Ports;

public sealed class PortForwardingOptionsTests
{
    [Fact]
    public void Bad_proxy_settings_are_refused_naming_the_setting()
    {
        var result = new PortForwardingOptionsValidator().Validate(null, new PortForwardingOptions
        {
            Domain = "https://sandboxes.example.com",
            PublicUrl = "not a url",
            SiloUrl = "ftp://10.0.0.1/",
            IdleTimeout = TimeSpan.Zero,
            ConnectTimeout = TimeSpan.FromHours(1),
            MaxUrlLifetime = TimeSpan.FromSeconds(5),
        });
        var failures = string.Join("\n", result.Failures ?? []);
        foreach (var setting in new[] { "Domain", "PublicUrl", "SiloUrl", "IdleTimeout", "ConnectTimeout", "MaxUrlLifetime" })
            Assert.Contains($"Wrenn:Proxy:{setting}", failures);
        Assert.True(new PortForwardingOptionsValidator().Validate(null, new PortForwardingOptions { Domain = "sandboxes.example.com", PublicUrl = "https://wrenn.example.com/" }).Succeeded);
    }
}
