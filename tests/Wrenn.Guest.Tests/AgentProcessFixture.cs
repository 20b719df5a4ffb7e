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
public class AgentProcessFixture : IAsyncLifetime
{
    private readonly string[] _launcher;
    private readonly string[] _agentArgs;
    private readonly string _binary;
    private Process? _process;

    public AgentProcessFixture() : this([], [], null)
    {
    }

    protected AgentProcessFixture(string[] launcher, string[] agentArgs, string? binary)
    {
        _launcher = launcher;
        _agentArgs = agentArgs;
        _binary = binary ?? RepoPaths.AgentBinary;
    }

    /// <summary>Runs the agent under <paramref name="launcher"/>, e.g. <c>tini -s -g --</c> as the guest init does.</summary>
    public static AgentProcessFixture Under(params string[] launcher) => new(launcher, [], null);

    /// <summary>Runs the agent with extra arguments (e.g. a short <c>--ended-process-retention</c>).</summary>
    public static AgentProcessFixture With(params string[] agentArgs) => new([], agentArgs, null);

    public int Port { get; private set; }

    /// <summary>The agent's own pid (not a launcher's): the test reads its /proc entries.</summary>
    public int AgentPid { get; private set; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public AgentClient NewClient() => new(BaseAddress);

    public async Task InitializeAsync()
    {
        if (!File.Exists(_binary))
            throw new FileNotFoundException($"The agent binary {_binary} is missing: run scripts/setup (it publishes the agent).");
        Port = FreePort();
        string[] command = [.. _launcher, _binary, "--port", Port.ToString(), "--listen", "127.0.0.1", .. _agentArgs];
        var start = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in command.Skip(1))
            start.ArgumentList.Add(arg);
        _process = Process.Start(start)!;
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        await WaitUntilListeningAsync(_process);
        AgentPid = _launcher.Length == 0 ? _process.Id : ChildOf(_process.Id);
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

    /// <summary>Waits until the agent accepts connections (any protocol: the Connect agent too).</summary>
    private async Task WaitUntilListeningAsync(Process process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    private static int ChildOf(int parent)
    {
        var children = File.ReadAllText($"/proc/{parent}/task/{parent}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return int.Parse(children.Single());
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>The old Connect agent (scripts/setup.d/31-agent-connect.sh), for the probe's tests.</summary>
public sealed class ConnectAgentFixture() : AgentProcessFixture([], [], RepoPaths.ConnectAgentBinary);
