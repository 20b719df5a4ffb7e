using Wrenn.Grains.Sandboxes;

namespace Wrenn.Silo.Tests.Api.Ports;

/// <summary>
/// A sandbox (a real VM) running guest-servers.py: HTTP on <see cref="HttpPort"/>, a WebSocket echo on
/// <see cref="WebSocketPort"/>, and HTTP on loopback only on <see cref="LoopbackPort"/>. One per API
/// silo, shared by the port forwarding tests (<see cref="ApiFixture.SharedAsync{T}"/>); destroyed with it.
/// </summary>
public sealed class PortServerSandbox(ApiFixture api, string id) : IAsyncDisposable
{
    public const int HttpPort = 8000;
    public const int WebSocketPort = 8765;
    public const int LoopbackPort = 8001;

    public static string ScriptPath => Path.Combine(AppContext.BaseDirectory, "Api", "Ports", "guest-servers.py");

    public string Id { get; } = id;

    public ISandboxGrain Grain => api.Silo.Host.Grains.GetGrain<ISandboxGrain>(Id);

    public static Task<PortServerSandbox> SharedAsync(ApiFixture api) => api.SharedAsync(CreateAsync);

    private static async Task<PortServerSandbox> CreateAsync(ApiFixture api)
    {
        var sandbox = await api.Silo.CreateAsync(api.Silo.Admin, timeoutSeconds: 3600);
        var servers = new PortServerSandbox(api, sandbox.Id);
        try
        {
            await StartServersAsync(servers.Grain, api.Silo.Admin);
            return servers;
        }
        catch
        {
            await servers.DisposeAsync();
            throw;
        }
    }

    /// <summary>Uploads the script, starts it in a session of its own (it outlives the exec), and waits until the agent lists its three ports.</summary>
    public static async Task StartServersAsync(ISandboxGrain sandbox, Caller caller)
    {
        await sandbox.WriteFileAsync(caller, "/root/guest-servers.py", await File.ReadAllBytesAsync(ScriptPath), CancellationToken.None);
        var started = await sandbox.ExecAsync(caller, new ExecRequest("sh", ["-c", "setsid -f python3 /root/guest-servers.py > /tmp/guest-servers.log 2>&1 < /dev/null"]), CancellationToken.None);
        Assert.True(started.ExitCode == 0, $"starting the servers: {started.Stderr}");
        var deadline = DateTime.UtcNow.AddMinutes(2);
        IReadOnlyList<ListeningPort> ports = [];
        while (DateTime.UtcNow < deadline)
        {
            ports = await sandbox.ListListeningPortsAsync(caller, CancellationToken.None);
            if (new[] { HttpPort, WebSocketPort, LoopbackPort }.All(p => ports.Any(l => l.Port == p)))
                return;
            await Task.Delay(200);
        }
        var log = await sandbox.ExecAsync(caller, new ExecRequest("cat", ["/tmp/guest-servers.log"]), CancellationToken.None);
        Assert.Fail($"the guest's servers did not listen within 2 minutes; listening: {string.Join(", ", ports.Select(p => $"{p.Address}:{p.Port}"))}\nserver log:\n{log.Stdout}{log.Stderr}");
    }

    /// <summary>Creates <paramref name="path"/> in the guest (the servers wait for such files to go on).</summary>
    public async Task TouchAsync(string path)
    {
        var touched = await Grain.ExecAsync(api.Silo.Admin, new ExecRequest("touch", [path]), CancellationToken.None);
        Assert.True(touched.ExitCode == 0, touched.Stderr);
    }

    /// <summary>A file's text in the guest, or null when it does not exist (yet).</summary>
    public async Task<string?> ReadAsync(string path)
    {
        var read = await Grain.ExecAsync(api.Silo.Admin, new ExecRequest("sh", ["-c", $"cat {path} 2>/dev/null"]), CancellationToken.None);
        return read.ExitCode == 0 ? read.Stdout : null;
    }

    public async ValueTask DisposeAsync() => await Grain.DestroyAsync(api.Silo.Admin);
}
