using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wrenn.Silo.Hosting;

namespace Wrenn.Silo.Cli;

/// <summary>
/// <c>wrenn run</c>: starts a silo (its own PostgreSQL unless --postgres), serves the API, prints the
/// GraphQL URL once it serves and, on the very first start, the admin API key on a line of its own.
/// SIGTERM or Ctrl-C stops it within seconds; VMs keep running for the next start unless
/// <c>--on-exit destroy</c>.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "Where the silo keeps its state (database, disks, snapshots).", DefaultValueFactory = _ => DefaultDataDir() };
        var postgres = new Option<string?>("--postgres") { Description = "Connection string of a shared PostgreSQL (a cluster's silos share one). Default: the silo's own." };
        var port = new Option<int>("--port") { Description = "Port of the API (GraphQL, uploads, the web console) on 127.0.0.1.", DefaultValueFactory = _ => 8080 };
        var listen = new Option<string>("--listen") { Description = "Address the API listens on.", DefaultValueFactory = _ => "127.0.0.1" };
        var internalPort = new Option<int>("--internal-port") { Description = "Port of the silo-to-silo endpoint (0: any free port).", DefaultValueFactory = _ => 0 };
        var internalAddress = new Option<string>("--internal-address") { Description = "Address other silos reach this one at.", DefaultValueFactory = _ => "127.0.0.1" };
        var onExit = new Option<OnExit>("--on-exit") { Description = "What happens to running sandboxes when the silo stops: keep (re-adopted on the next start), pause (to disk) or destroy.", DefaultValueFactory = _ => OnExit.Keep };
        var name = new Option<string?>("--name") { Description = "The silo's name in the cluster (default: made on first start and kept in the data folder)." };
        var ownerPrefix = new Option<string?>("--owner-prefix") { Description = "Prefix of every host object this silo makes (tests).", Hidden = true };
        var verbose = new Option<bool>("--verbose") { Description = "Log debug details." };
        var command = new Command("run", "Start a Wrenn silo and serve the GraphQL API.")
        {
            dataDir, postgres, port, listen, internalPort, internalAddress, onExit, name, ownerPrefix, verbose,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(
            new WrennSiloOptions
            {
                DataDir = Path.GetFullPath(parse.GetValue(dataDir)!),
                ConnectionString = parse.GetValue(postgres),
                ImageDir = WrennPaths.ImageDir,
                InternalAddress = IPAddress.Parse(parse.GetValue(internalAddress)!),
                InternalPort = parse.GetValue(internalPort),
                OnExit = parse.GetValue(onExit),
                SiloName = parse.GetValue(name),
                OwnerPrefix = parse.GetValue(ownerPrefix),
                Configuration = WrennConfiguration.Build(),
            },
            IPAddress.Parse(parse.GetValue(listen)!), parse.GetValue(port), parse.GetValue(verbose), cancellationToken));
        return command;
    }

    internal static string DefaultDataDir() =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } xdg ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share"), "wrenn");

    private static async Task<int> RunAsync(WrennSiloOptions options, IPAddress listen, int port, bool verbose, CancellationToken cancellationToken)
    {
        using var loggers = LoggerFactory.Create(b => b
            .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
            .SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Information)
            .AddFilter("Microsoft", LogLevel.Warning));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });

        WrennSiloHost host;
        try
        {
            host = await WrennSiloHost.StartAsync(options, loggers, stop.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"wrenn: the silo could not start: {e.Message}");
            return 1;
        }
        await using (host)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.Services.AddSingleton(loggers);
            builder.WebHost.ConfigureKestrel(k => k.Listen(listen, port));
            PublicApi.AddServices(builder, host);
            var app = builder.Build();
            PublicApi.Map(app, host);
            try
            {
                await app.StartAsync(stop.Token);
            }
            catch (IOException e)
            {
                await Console.Error.WriteLineAsync($"wrenn: cannot listen on {listen}:{port} ({e.Message}); pick another --port.");
                return 1;
            }

            var shown = listen.Equals(IPAddress.Any) ? IPAddress.Loopback : listen;
            Console.WriteLine($"Wrenn silo {host.Silo.Name} is ready. GraphQL: http://{shown}:{port}/graphql");
            if (host.FirstAdminKey is { } key)
            {
                Console.WriteLine("First start: the admin team's API key (shown once; keep it):");
                Console.WriteLine(key);
            }
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
            Console.WriteLine($"Stopping (sandboxes on exit: {host.OnExit.ToString().ToLowerInvariant()})...");
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await app.StopAsync(quick.Token);
            await app.DisposeAsync();
        }
        return 0;
    }
}
