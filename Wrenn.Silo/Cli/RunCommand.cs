using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;
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
        var dataDir = new Option<string>("--data-dir") { Description = "Where the silo keeps its state (database, disks, snapshots, identity, appsettings.json).", DefaultValueFactory = _ => DefaultDataDir() };
        var postgres = new Option<string?>("--postgres") { Description = "Connection string of a shared PostgreSQL (a cluster's silos share one). Default: the silo's own." };
        var port = new Option<int?>("--port") { Description = "Port of the API (GraphQL, uploads, the web console, /dashboard); 0 takes a free one. Default 8080 (Wrenn:Api:Port)." };
        var listen = new Option<string?>("--listen") { Description = "Address the API listens on. Default 127.0.0.1 (Wrenn:Api:Listen)." };
        var siloPort = new Option<int?>("--silo-port") { Description = "Port other silos reach this one at. Default: picked free on the first start and kept in the data folder (Wrenn:Cluster:SiloPort)." };
        var gatewayPort = new Option<int?>("--gateway-port") { Description = "Port for Orleans clients. Default: picked free on the first start and kept (Wrenn:Cluster:GatewayPort)." };
        var advertise = new Option<string?>("--advertise") { Description = "Address other silos reach this one at. Default 127.0.0.1 (Wrenn:Cluster:AdvertisedAddress)." };
        var onExit = new Option<OnExit>("--on-exit") { Description = "What happens to running sandboxes when the silo stops: keep (re-adopted on the next start), pause (to disk) or destroy.", DefaultValueFactory = _ => OnExit.Keep };
        var name = new Option<string?>("--name") { Description = "The silo's host name in the cluster (default: made on first start and kept in the data folder)." };
        var ownerPrefix = new Option<string?>("--owner-prefix") { Description = "Prefix of every host object this silo makes (tests).", Hidden = true };
        var warmBase = new Option<bool>("--warm-base") { Description = "Boot the base image once at start and freeze it, so that creates restore instead of booting.", DefaultValueFactory = _ => true };
        var verbose = new Option<bool>("--verbose") { Description = "Log debug details." };
        var command = new Command("run", "Start a Wrenn silo (an Orleans silo with the GraphQL API) and serve until SIGTERM or Ctrl-C.")
        {
            dataDir, postgres, port, listen, siloPort, gatewayPort, advertise, onExit, name, ownerPrefix, warmBase, verbose,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            // Flags win over appsettings.json and WRENN__… variables; unset flags leave those alone.
            var flags = new Dictionary<string, string?>();
            void Flag<T>(Option<T> option, string key)
            {
                if (parse.GetValue(option) is { } value)
                    flags[key] = value.ToString();
            }
            Flag(port, "Wrenn:Api:Port");
            Flag(listen, "Wrenn:Api:Listen");
            Flag(siloPort, "Wrenn:Cluster:SiloPort");
            Flag(gatewayPort, "Wrenn:Cluster:GatewayPort");
            Flag(advertise, "Wrenn:Cluster:AdvertisedAddress");
            var isVerbose = parse.GetValue(verbose);
            return RunAsync(new WrennSiloOptions
            {
                DataDir = Path.GetFullPath(parse.GetValue(dataDir)!),
                ConnectionString = parse.GetValue(postgres),
                ImageDir = WrennPaths.ImageDir,
                OnExit = parse.GetValue(onExit),
                SiloName = parse.GetValue(name),
                OwnerPrefix = parse.GetValue(ownerPrefix),
                WarmBase = parse.GetValue(warmBase),
                Configuration = new ConfigurationBuilder().AddInMemoryCollection(flags).Build(),
                Logging = logging => logging
                    .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
                    .SetMinimumLevel(isVerbose ? LogLevel.Debug : LogLevel.Information)
                    .AddFilter("Microsoft", LogLevel.Warning)
                    .AddFilter("Polly", LogLevel.Warning)
                    .AddFilter("Orleans", isVerbose ? LogLevel.Information : LogLevel.Warning),
            }, cancellationToken);
        });
        return command;
    }

    internal static string DefaultDataDir() =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } xdg ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share"), "wrenn");

    private static async Task<int> RunAsync(WrennSiloOptions options, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });

        WrennSiloHost host;
        try
        {
            host = await WrennSiloHost.StartAsync(options, stop.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"wrenn: the silo could not start: {Reason(e)}");
            return 1;
        }
        await using (host)
        {
            if (host.FirstAdminKey is { } key)
            {
                Console.WriteLine("First start: the admin team's API key (shown once; keep it):");
                Console.WriteLine(key);
            }
            // Last: whoever waits for this line has everything the silo prints at start.
            Console.WriteLine($"Wrenn silo {host.SiloName} is ready. GraphQL: {new Uri(host.ApiAddress, "/graphql")}");
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
            Console.WriteLine($"Stopping (sandboxes on exit: {host.OnExit.ToString().ToLowerInvariant()})...");
        }
        return 0;
    }

    /// <summary>What stopped the start, in words an operator acts on (a bad setting names itself; a port in use says which).</summary>
    private static string Reason(Exception e) => e switch
    {
        Microsoft.Extensions.Options.OptionsValidationException v => string.Join(" ", v.Failures),
        IOException { InnerException: System.Net.Sockets.SocketException } io => $"{io.Message}; pick another --port.",
        AggregateException { InnerExceptions.Count: 1 } a => Reason(a.InnerException!),
        _ => e.Message,
    };
}
