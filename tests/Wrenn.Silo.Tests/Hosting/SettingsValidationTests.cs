using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Wrenn.Silo.Hosting;
using Wrenn.Silo.Tests.Sandboxes;
using Wrenn.Testing;
using Wrenn.Testing.Postgres;

namespace Wrenn.Silo.Tests.Hosting;

/// <summary>A bad setting stops the silo at start with a message that names it, before it touches anything.</summary>
public sealed class SettingsValidationTests
{
    [Theory]
    [InlineData("Wrenn:Cluster:ProbeTimeout", "00:00:00.001")]
    [InlineData("Wrenn:Cluster:AdvertisedAddress", "0.0.0.0")]
    [InlineData("Wrenn:Cluster:SiloPort", "70000")]
    [InlineData("Wrenn:Api:Listen", "not-an-address")]
    [InlineData("Wrenn:Capacity:CpuOvercommit", "0")]
    [InlineData("Wrenn:Sandboxes:PausedRetention", "00:00:00")]
    [InlineData("Wrenn:Sandboxes:IdleCheckEvery", "00:00:05")]
    [InlineData("Wrenn:Sandboxes:IdleCpuShare", "0")]
    [InlineData("Wrenn:Reconciler:Every", "00:00:00")]
    [InlineData("Wrenn:GraphQL:ConnectionInitTimeout", "-00:00:01")]
    public async Task A_bad_setting_stops_the_silo_naming_it(string key, string value)
    {
        var owner = TestPrefix.NewOwner();
        var dataDir = $"/run/wrenn/{owner}-data";
        try
        {
            var options = new WrennSiloOptions
            {
                DataDir = dataDir,
                ConnectionString = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync($"settings-{owner}"),
                ImageDir = RepoPaths.ImageDir,
                OwnerPrefix = owner,
                WarmBase = false,
                Configuration = TestSiloSettings.With(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build()),
            };
            var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => WrennSiloHost.StartAsync(options, CancellationToken.None));
            Assert.Contains(key, string.Join(" ", refused.Failures));
        }
        finally
        {
            if (Directory.Exists(dataDir))
                Directory.Delete(dataDir, recursive: true);
            if (Directory.Exists($"/run/wrenn/{owner}"))
                Directory.Delete($"/run/wrenn/{owner}", recursive: true);
            TestPrefix.Retire(owner);
        }
    }
}
