using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Wrenn.Guest.Protocol;
using Wrenn.Testing;

namespace Wrenn.Guest.Tests;

/// <summary>
/// The published guest agent binary, run as a host process on a free loopback port. The agent is
/// the real NativeAOT binary that goes into the guest image; only its surroundings differ.
/// </summary>
public sealed class AgentProcessFixture : IAsyncLifetime
{
    private readonly string[] _launcher;
    private Process? _process;

    public AgentProcessFixture() => _launcher = [];

    private AgentProcessFixture(string[] launcher) => _launcher = launcher;

    /// <summary>Runs the agent under <paramref name="launcher"/>, e.g. <c>tini -s -g --</c> as the guest init does.</summary>
    public static AgentProcessFixture Under(params string[] launcher) => new(launcher);

    public int Port { get; private set; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public AgentClient NewClient() => new(BaseAddress);

    public async Task InitializeAsync()
    {
        var binary = RepoPaths.AgentBinary;
        if (!File.Exists(binary))
            throw new FileNotFoundException($"The agent binary {binary} is missing: run scripts/setup (it publishes the agent).");
        Port = FreePort();
        string[] command = [.. _launcher, binary, "--port", Port.ToString(), "--listen", "127.0.0.1"];
        var start = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in command.Skip(1))
            start.ArgumentList.Add(arg);
        _process = Process.Start(start)!;
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        using var client = NewClient();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                await client.HealthAsync(CancellationToken.None, TimeSpan.FromSeconds(1));
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Stops the agent the way tini does, with SIGTERM, and waits for it to exit.</summary>
    public async Task TerminateAsync(CancellationToken cancellationToken)
    {
        if (_process is not { HasExited: false })
            return;
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()]);
        await kill.WaitForExitAsync(cancellationToken);
        await _process.WaitForExitAsync(cancellationToken);
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
