using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Wrenn.Abstractions.Plugins;
using Wrenn.Grains.Sandboxes;
using Wrenn.Guest.Protocol;

namespace Wrenn.Silo.Tests.Sandboxes;

/// <summary>
/// A silo set up as exposed as it gets: guest egress on (so guest traffic is forwarded out of its
/// namespace), the API on every address, Orleans on the host's own address, and a control
/// service listening on every address. Its guests must still reach nothing of the host's.
/// </summary>
public sealed class ExposedSiloFixture : IAsyncLifetime
{
    public SiloFixture Silo { get; } = new()
    {
        Configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Wrenn:Plugins:netns:Egress"] = "true",
            ["Wrenn:Api:Listen"] = "0.0.0.0",
            ["Wrenn:Cluster:AdvertisedAddress"] = GuestIsolationTests.HostAddresses().First(a => a.AddressFamily == AddressFamily.InterNetwork).ToString(),
        }).Build(),
    };

    public Task InitializeAsync() => Silo.InitializeAsync();

    public Task DisposeAsync() => Silo.DisposeAsync();
}

/// <summary>From inside a guest, nothing of the host answers: no address it has, its side of the sandbox's veth included, on any port its services listen on; nor another sandbox.</summary>
public sealed class GuestIsolationTests(ExposedSiloFixture fixture) : IClassFixture<ExposedSiloFixture>
{
    private const string Probe = """
        import json, socket, sys, threading
        results = {}
        def probe(address, port):
            s = socket.socket(socket.AF_INET6 if ':' in address else socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(3)
            try:
                s.connect((address, port)); result = 'connected'
            except socket.timeout:
                result = 'dropped'
            except ConnectionRefusedError:
                result = 'refused'
            except OSError as e:
                result = 'unreachable (errno %d)' % e.errno
            finally:
                s.close()
            results['%s %d' % (address, port)] = result
        threads = [threading.Thread(target=probe, args=(a, p)) for a, p in json.loads(sys.argv[1])]
        for t in threads: t.start()
        for t in threads: t.join()
        print(json.dumps(results))
        """;

    [Fact]
    public async Task A_guest_reaches_no_host_address_on_the_silo_Orleans_PostgreSQL_or_any_listening_port_nor_another_sandbox()
    {
        var silo = fixture.Silo;
        using var control = new TcpListener(IPAddress.IPv6Any, 0);
        control.Server.DualMode = true;
        control.Start();
        var controlPort = ((IPEndPoint)control.LocalEndpoint).Port;
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
                (await control.AcceptTcpClientAsync(stop.Token)).Dispose();
        });

        var a = await silo.CreateAsync(silo.Admin);
        var b = await silo.CreateAsync(silo.Admin);
        try
        {
            var aNetwork = (await silo.Host.Store.GetAsync(a.Id, CancellationToken.None))!.Vm!.Network;
            var bNetwork = (await silo.Host.Store.GetAsync(b.Id, CancellationToken.None))!.Vm!.Network;
            var postgres = new Npgsql.NpgsqlConnectionStringBuilder(silo.ConnectionString).Port;
            int[] ports = [.. new[] { silo.Host.ApiAddress.Port, silo.Host.Identity.SiloPort, silo.Host.Identity.GatewayPort, postgres, 5432, 22, controlPort }.Distinct()];

            // Every address of the host (this sandbox's veth end among them), each live: the host itself reaches the control service on it.
            // (Other tests on the machine add and remove links of their own: an address gone by the time it is tried is left out.)
            var hostAddresses = HostAddresses().ToList();
            Assert.Contains(IPAddress.Parse(aNetwork.Properties["hostEnd"]), hostAddresses);
            foreach (var address in hostAddresses.ToList())
            {
                using var client = new TcpClient(address.AddressFamily);
                try
                {
                    await client.ConnectAsync(address, controlPort);
                }
                catch (SocketException) when (!HostAddresses().Contains(address))
                {
                    hostAddresses.Remove(address);
                }
            }
            List<(string Address, int Port)> targets = [.. hostAddresses.SelectMany(address => ports.Select(port => (Address: address.ToString(), Port: port)))
                // The guest's own namespace (its gateway, the namespace's veth end), and the other sandbox.
                .Concat(new[] { aNetwork.Guest.Gateway, aNetwork.HostAddress }.SelectMany(address => ports.Select(port => (Address: address.ToString(), Port: port))))
                .Concat([(bNetwork.HostAddress.ToString(), AgentEndpoint.DefaultPort), (bNetwork.HostAddress.ToString(), controlPort)]).Distinct()];

            var results = await ProbeFromAsync(a.Id, [.. targets, ("127.0.0.1", AgentEndpoint.DefaultPort)]);

            // The control: the probe reaches what listens in the guest itself.
            Assert.Equal("connected", results[$"127.0.0.1 {AgentEndpoint.DefaultPort}"]);
            var reached = targets.Where(t => results[$"{t.Address} {t.Port}"] == "connected").ToList();
            Assert.True(reached.Count == 0, $"the guest reached {string.Join(", ", reached.Select(t => $"{t.Address}:{t.Port}"))}");
            Assert.Equal(targets.Count + 1, results.Count);
        }
        finally
        {
            await stop.CancelAsync();
            await silo.Host.Sandboxes.Sandbox(a.Id).DestroyAsync(silo.Admin);
            await silo.Host.Sandboxes.Sandbox(b.Id).DestroyAsync(silo.Admin);
            try
            {
                await accepting;
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private async Task<Dictionary<string, string>> ProbeFromAsync(string sandboxId, IReadOnlyList<(string Address, int Port)> targets)
    {
        var json = JsonSerializer.Serialize(targets.Select(t => new object[] { t.Address, t.Port }));
        var run = await fixture.Silo.Host.Sandboxes.Sandbox(sandboxId).ExecAsync(fixture.Silo.Admin, new ExecRequest("python3", ["-c", Probe, json]), CancellationToken.None);
        Assert.True(run.ExitCode == 0, run.Stderr);
        return JsonSerializer.Deserialize<Dictionary<string, string>>(run.Stdout)!;
    }

    /// <summary>The host's addresses in the root namespace, but loopback (a guest's 127.0.0.1 is its own) and IPv6 link-local (scoped to one link).</summary>
    public static IReadOnlyList<IPAddress> HostAddresses()
    {
        var listing = HostCommand.RunAsync("ip", ["-o", "addr", "show"], CancellationToken.None).GetAwaiter().GetResult();
        return listing.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length > 3 && fields[2] is "inet" or "inet6")
            .Select(fields => IPAddress.Parse(fields[3].Split('/')[0]))
            .Where(address => !IPAddress.IsLoopback(address) && !address.IsIPv6LinkLocal)
            .Distinct()
            .ToList();
    }
}
