using Microsoft.Extensions.Configuration;
using Wrenn.Silo.Hosting;
using Wrenn.Testing;
using Wrenn.Testing.Postgres;

/// <summary>
/// One in-process silo for a bench, started as the tests start theirs (own owner prefix, data folder
/// and database, API on a free port, sandboxes destroyed at exit); disposing it removes its folders.
/// </summary>
internal sealed class BenchSilo : IAsyncDisposable
{
    private BenchSilo(WrennSiloHost host, string owner, string dataDir)
    {
        Host = host;
        Owner = owner;
        DataDir = dataDir;
    }

    public WrennSiloHost Host { get; }

    public string Owner { get; }

    public string DataDir { get; }

    public string RuntimeDir => $"/run/wrenn/{Owner}";

    /// <summary>Runs once the silo has stopped and before its folders go (e.g. a bench's own clean-up of what it made beside the silo).</summary>
    public Func<Task>? AfterStop { get; set; }

    public static async Task<BenchSilo> StartAsync(string database, Microsoft.Extensions.Logging.ILoggerProvider? log = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        await HostSweep.RemoveLeftoversAsync();
        var owner = TestPrefix.NewOwner();
        var dataDir = $"/run/wrenn/{owner}-data";
        var host = await WrennSiloHost.StartAsync(new WrennSiloOptions
        {
            DataDir = dataDir,
            ConnectionString = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync(database),
            ImageDir = RepoPaths.ImageDir,
            OwnerPrefix = owner,
            SiloName = $"{owner}-silo",
            OnExit = OnExit.Destroy,
            Logging = log is null ? null : logging => Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton(logging.Services, log),
            Configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>()) { ["Wrenn:Api:Port"] = "0" }).Build(),
        }, CancellationToken.None);
        return new BenchSilo(host, owner, dataDir);
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        if (AfterStop is not null)
            await AfterStop();
        foreach (var dir in new[] { DataDir, RuntimeDir })
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
        TestPrefix.Retire(Owner);
    }
}
