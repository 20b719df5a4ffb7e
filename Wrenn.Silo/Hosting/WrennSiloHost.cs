using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Wrenn.Abstractions.Clock;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Vmm;
using Wrenn.Silo.Plugins;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Data;
using Wrenn.Silo.Grains;
using Wrenn.Silo.Persistence.LocalPostgres;
using Wrenn.Silo.Persistence.Migrations;
using Wrenn.Silo.Reconciliation;
using Wrenn.Silo.Runtime;
using Wrenn.Silo.Runtime.Cluster;
using Wrenn.Silo.Runtime.Grains;
using Wrenn.Silo.Sandboxes;

namespace Wrenn.Silo.Hosting;

/// <summary>
/// A whole Wrenn silo: its database (its own PostgreSQL unless one is configured), the platform's
/// schema, the host plugins, the grain runtime with the sandbox, template and host grains, the
/// <c>base</c> template, the reconciler, and on the very first start an admin team and key.
/// </summary>
public sealed partial class WrennSiloHost : IAsyncDisposable
{
    private readonly WrennSiloOptions _options;
    private readonly LocalPostgres? _postgres;
    private readonly NpgsqlDataSource _dataSource;
    private readonly ServiceProvider _services;
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger _logger;
    private Task? _reconciling;

    private WrennSiloHost(WrennSiloOptions options, LocalPostgres? postgres, NpgsqlDataSource dataSource, ServiceProvider services, GrainSilo silo, SiloIdentity identity, ILogger logger)
    {
        _options = options;
        _postgres = postgres;
        _dataSource = dataSource;
        _services = services;
        _logger = logger;
        OnExit = options.OnExit;
        Silo = silo;
        Identity = identity;
        Sandboxes = new SandboxService(silo.Grains, Templates, services.GetRequiredService<SandboxStore>(),
            () => silo.Cluster.Where(s => s.Status == SiloStatus.Active).Select(s => s.Name).Distinct().ToList(), silo.Name);
        Reconciler = new Reconciler(services.GetRequiredService<SandboxStore>(), services.GetRequiredService<TemplateCatalog>(), services.GetRequiredService<SandboxVms>(),
            silo.Grains, silo.Name, options.DataDir, services.GetRequiredService<ILogger<Reconciler>>());
    }

    public GrainSilo Silo { get; }

    /// <summary>What happens to this host's sandboxes when the silo stops (the <c>--on-exit</c> option).</summary>
    public OnExit OnExit { get; set; }

    public SiloIdentity Identity { get; }

    public SandboxService Sandboxes { get; }

    public Teams Teams => _services.GetRequiredService<Teams>();

    public TemplateCatalog Templates => _services.GetRequiredService<TemplateCatalog>();

    public AuditLog Audit => _services.GetRequiredService<AuditLog>();

    public SandboxStore Store => _services.GetRequiredService<SandboxStore>();

    /// <summary>Sandbox record writes as they happen (the API's pushed sandboxEvents).</summary>
    public ISandboxChangeFeed Changes => _services.GetRequiredService<ISandboxChangeFeed>();

    public Reconciler Reconciler { get; }

    /// <summary>The database the silo uses (its own PostgreSQL's, or the configured one).</summary>
    public string ConnectionString => _postgres?.ConnectionString ?? _options.ConnectionString!;

    /// <summary>On the first start of a fresh database: the admin team's key, to be shown once.</summary>
    public string? FirstAdminKey { get; private set; }

    public static async Task<WrennSiloHost> StartAsync(WrennSiloOptions options, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger<WrennSiloHost>();
        var stored = SiloIdentity.LoadOrCreate(options.DataDir);
        var identity = new SiloIdentity(options.SiloName ?? stored.SiloName, options.OwnerPrefix ?? stored.OwnerPrefix);

        LocalPostgres? postgres = null;
        NpgsqlDataSource? dataSource = null;
        ServiceProvider? services = null;
        GrainSilo? silo = null;
        try
        {
            var connectionString = options.ConnectionString;
            if (connectionString is null)
            {
                postgres = await LocalPostgres.StartAsync(new LocalPostgresOptions
                {
                    Folder = Path.Combine(options.DataDir, "postgres"),
                    SocketDir = Path.Combine("/run/wrenn", $"pg-{identity.OwnerPrefix}"),
                }, loggers.CreateLogger<LocalPostgres>(), cancellationToken);
                connectionString = postgres.ConnectionString;
            }
            dataSource = NpgsqlDataSource.Create(connectionString);
            await new SchemaMigrator(dataSource, loggers.CreateLogger<SchemaMigrator>()).ApplyAsync(WrennSchema.Migrations, cancellationToken);

            var pluginHost = new PluginHost(identity.OwnerPrefix, options.DataDir, Path.Combine("/run/wrenn", identity.OwnerPrefix), "/run/wrenn",
                Environment.GetEnvironmentVariable("WRENN_CACHE") is { Length: > 0 } cache ? cache : "/var/cache/wrenn");
            Directory.CreateDirectory(pluginHost.RuntimeDir);
            services = ConfigureServices(dataSource, pluginHost, loggers, options).BuildServiceProvider();

            var registry = new GrainRegistry()
                .Add<ISandboxGrain, SandboxGrain>()
                .Add<ITemplateGrain, TemplateGrain>()
                .Add<IHostSlotGrain, HostSlotGrain>();
            silo = await GrainSilo.StartAsync(new SiloOptions
            {
                Name = identity.SiloName,
                ConnectionString = connectionString,
                ListenAddress = options.InternalAddress,
                Port = options.InternalPort,
                Membership = options.Membership,
                Runtime = new RuntimeOptions { Json = new System.Text.Json.JsonSerializerOptions(WrennJson.Options) },
            }, registry, services, loggers, cancellationToken);

            var host = new WrennSiloHost(options, postgres, dataSource, services, silo, identity, logger);
            await host.Templates.EnsureBaseAsync(options.ImageDir, options.BaseVcpus, options.BaseMemoryMib, cancellationToken);
            if (options.WarmBase && services.GetService<IMemoryBackend>() is not null)
                await services.GetRequiredService<WarmBase>().PrepareAsync(options.ImageDir, new VmSize(options.BaseVcpus, options.BaseMemoryMib), cancellationToken);
            host.FirstAdminKey = await host.CreateAdminOnFirstStartAsync(cancellationToken);
            var report = await host.Reconciler.RunOnceAsync(cancellationToken);
            LogStarted(logger, identity.SiloName, report.Adopted, report.Lost, report.OrphansRemoved.Count);
            host._reconciling = host.Reconciler.RunPeriodicallyAsync(options.ReconcileEvery, host._stop.Token);
            return host;
        }
        catch
        {
            if (silo is not null)
                await silo.DisposeAsync();
            if (services is not null)
                await services.DisposeAsync();
            if (dataSource is not null)
                await dataSource.DisposeAsync();
            if (postgres is not null)
                await postgres.DisposeAsync();
            throw;
        }
    }

    private static ServiceCollection ConfigureServices(NpgsqlDataSource dataSource, PluginHost pluginHost, ILoggerFactory loggers, WrennSiloOptions options)
    {
        var services = new ServiceCollection();
        services.AddSingleton(loggers);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddSingleton(dataSource);
        services.AddSingleton<ISandboxChangeFeed, InProcessSandboxChangeFeed>();
        services.AddSingleton<SandboxStore>();
        services.AddSingleton<TemplateCatalog>();
        services.AddSingleton<Teams>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton(new HostFacts(options.DataDir));
        // Wrenn:Capacity:CpuOvercommit, :MemoryMarginMib, :DiskPerSandboxMib, :Vcpus, :MemoryMib, :DiskMib
        services.AddSingleton(Options.Create(options.Configuration.GetSection("Wrenn:Capacity").Get<CapacityOptions>() ?? new CapacityOptions()));
        // Wrenn:Sandboxes:PausedRetention (e.g. "7.00:00:00")
        services.AddSingleton(Options.Create(options.Configuration.GetSection("Wrenn:Sandboxes").Get<SandboxOptions>() ?? new SandboxOptions()));
        services.AddSingleton(pluginHost);
        // The host plugins, loaded from their folders (one AssemblyLoadContext each), compose the VMs.
        PluginLoader.Load(services, PluginSearchPath.For(options.DataDir, options.Configuration), options.Configuration, pluginHost);
        services.AddSingleton(sp => new WarmBase(sp.GetRequiredService<SandboxVms>(), options.DataDir, sp.GetRequiredService<ILogger<WarmBase>>()));
        services.AddSingleton(sp => new SandboxVms(sp.GetRequiredService<IVmm>(), sp.GetRequiredService<IStorage>(), sp.GetRequiredService<INetwork>(), pluginHost,
            sp.GetRequiredService<ILogger<SandboxVms>>(), sp.GetService<IGuestClock>(), sp.GetService<IMemoryBackend>()));
        return services;
    }

    private async Task<string?> CreateAdminOnFirstStartAsync(CancellationToken cancellationToken)
    {
        if (await Teams.AnyTeamAsync(cancellationToken))
            return null;
        var team = await Teams.CreateTeamAsync("admin", cancellationToken);
        var key = await Teams.CreateKeyAsync(team.Id, Role.Admin, cancellationToken);
        await Audit.RecordAsync(new Caller(team.Id, key.Info.Id, Role.Admin), "team.create", team.Id, new { team.Name, firstStart = true }, cancellationToken);
        return key.Secret;
    }

    /// <summary>Stops serving and leaves the cluster; running VMs stay for the next start unless <see cref="OnExit.Destroy"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_reconciling is not null)
            await _reconciling;
        if (OnExit == OnExit.Destroy)
            await DestroyAllHereAsync();
        else if (OnExit == OnExit.Pause)
            await PauseAllHereAsync();
        await Silo.DisposeAsync();
        await _services.DisposeAsync();
        await _dataSource.DisposeAsync();
        if (_postgres is not null)
            await _postgres.DisposeAsync();
    }

    private async Task PauseAllHereAsync()
    {
        var store = _services.GetRequiredService<SandboxStore>();
        var here = await store.OnHostAsync(Silo.Name, [SandboxState.Running], CancellationToken.None);
        LogPausingOnExit(_logger, here.Count);
        // A few at a time: each pause writes the guest's dirty memory to disk.
        await Parallel.ForEachAsync(here, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (r, _) =>
        {
            try
            {
                await Silo.Grains.Get<ISandboxGrain>(r.Id).PauseAsync(Caller.System);
            }
            catch (Exception e)
            {
                LogPauseOnExitFailed(_logger, e, r.Id);
            }
        });
    }

    private async Task DestroyAllHereAsync()
    {
        var store = _services.GetRequiredService<SandboxStore>();
        var here = await store.OnHostAsync(Silo.Name, [SandboxState.Creating, SandboxState.Running, SandboxState.Paused], CancellationToken.None);
        LogDestroyingOnExit(_logger, here.Count);
        await Task.WhenAll(here.Select(async r =>
        {
            try
            {
                await Silo.Grains.Get<ISandboxGrain>(r.Id).DestroyAsync(Caller.System);
            }
            catch (Exception e)
            {
                LogDestroyOnExitFailed(_logger, e, r.Id);
            }
        }));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Name} started: {Adopted} running sandbox(es) re-adopted, {Lost} lost, {Orphans} orphan(s) removed")]
    private static partial void LogStarted(ILogger logger, string name, int adopted, int lost, int orphans);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pausing {Count} running sandbox(es) on exit (--on-exit pause); resume them through the API after the next start")]
    private static partial void LogPausingOnExit(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not pause sandbox {SandboxId} on exit; it keeps running and is re-adopted on the next start")]
    private static partial void LogPauseOnExitFailed(ILogger logger, Exception exception, string sandboxId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Destroying {Count} sandbox(es) on exit (--on-exit destroy)")]
    private static partial void LogDestroyingOnExit(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not destroy sandbox {SandboxId} on exit; the next start's reconciler removes what is left")]
    private static partial void LogDestroyOnExitFailed(ILogger logger, Exception exception, string sandboxId);
}
