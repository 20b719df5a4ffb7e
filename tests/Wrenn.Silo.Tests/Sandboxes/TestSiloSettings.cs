using Microsoft.Extensions.Configuration;

namespace Wrenn.Silo.Tests.Sandboxes;

/// <summary>
/// What every test silo is configured with before a test's own settings: the API on a free port,
/// and failure detection fast enough that a killed silo is noticed within seconds.
/// </summary>
public static class TestSiloSettings
{
    public static readonly IReadOnlyDictionary<string, string?> Defaults = new Dictionary<string, string?>
    {
        ["Wrenn:Api:Port"] = "0",
        ["Wrenn:GraphQL:ConnectionInitTimeout"] = "00:00:02",
        ["Wrenn:Cluster:ProbeTimeout"] = "00:00:01",
        ["Wrenn:Cluster:MissedProbesLimit"] = "3",
        ["Wrenn:Cluster:TableRefreshTimeout"] = "00:00:02",
    };

    public static IConfiguration With(IConfiguration? overrides)
    {
        var builder = new ConfigurationBuilder().AddInMemoryCollection(Defaults);
        if (overrides is not null)
            builder.AddConfiguration(overrides);
        return builder.Build();
    }
}
