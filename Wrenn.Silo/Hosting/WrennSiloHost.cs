using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wrenn.Silo.Cluster;
using Wrenn.Silo.Data;
using Wrenn.Silo.Hosting.Startup;
using Wrenn.Silo.Sandboxes;

namespace Wrenn.Silo.Hosting;

/// <summary>
/// A running silo: the generic host (Orleans, the API, the hosted services of
/// <see cref="WrennComposition"/>) and the handles the command line and tests use. Started with
/// <see cref="StartAsync"/>; disposing it stops everything in order, with running VMs kept,
/// paused or destroyed as <see cref="OnExit"/> says.
/// </summary>
public sealed class WrennSiloHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WrennSiloHost(WebApplication app)
    {
        _app = app;
        ApiAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public IServiceProvider Services => _app.Services;

    /// <summary>The API's base address (GraphQL at <c>/graphql</c>), with the port really taken.</summary>
    public Uri ApiAddress { get; }

    /// <summary>This silo's host name in the cluster.</summary>
    public string SiloName => Services.GetRequiredService<SiloIdentity>().SiloName;

    public SiloIdentity Identity => Services.GetRequiredService<SiloIdentity>();

    /// <summary>What happens to this host's sandboxes when the silo stops (the <c>--on-exit</c> option).</summary>
    public OnExit OnExit
    {
        get => Services.GetRequiredService<ExitPolicy>().OnExit;
        set => Services.GetRequiredService<ExitPolicy>().OnExit = value;
    }

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public ClusterHosts Hosts => Services.GetRequiredService<ClusterHosts>();

    public SandboxService Sandboxes => Services.GetRequiredService<SandboxService>();

    public Teams Teams => Services.GetRequiredService<Teams>();

    public TemplateCatalog Templates => Services.GetRequiredService<TemplateCatalog>();

    public AuditLog Audit => Services.GetRequiredService<AuditLog>();

    public SandboxStore Store => Services.GetRequiredService<SandboxStore>();

    public Reconciliation.Reconciler Reconciler => Services.GetRequiredService<Reconciliation.Reconciler>();

    /// <summary>The database the silo uses (its own PostgreSQL's, or the configured one).</summary>
    public string ConnectionString => Services.GetRequiredService<WrennDatabase>().ConnectionString;

    /// <summary>On the first start of a fresh database: the admin team's key, to be shown once.</summary>
    public string? FirstAdminKey => Services.GetRequiredService<FirstStart>().AdminKey;

    public static async Task<WrennSiloHost> StartAsync(WrennSiloOptions options, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Configuration
            .AddJsonFile(Path.Combine(options.DataDir, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddConfiguration(options.Configuration);
        builder.Logging.ClearProviders();
        options.Logging?.Invoke(builder.Logging);
        builder.AddWrenn(options);
        var app = builder.Build();
        PublicApi.Map(app);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            var database = app.Services.GetRequiredService<WrennDatabase>();
            await StopQuietlyAsync(app);
            await database.DisposeAsync();
            throw;
        }
        return new WrennSiloHost(app);
    }

    /// <summary>A start that failed half way still gives back what it took (its PostgreSQL, its ports).</summary>
    private static async Task StopQuietlyAsync(WebApplication app)
    {
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await app.StopAsync(limit.Token);
        }
        catch (Exception)
        {
            // The start's own failure is what the caller needs to see.
        }
        await app.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        // Given to the container as an instance, so the container leaves it open.
        var database = Services.GetRequiredService<WrennDatabase>();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await database.DisposeAsync();
    }
}
