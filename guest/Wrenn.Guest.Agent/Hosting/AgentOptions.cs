namespace Wrenn.Guest.Agent;

/// <summary>The agent's settings, from its command line (the guest init passes the port).</summary>
internal sealed record AgentOptions
{
    public const string Usage = "Usage: wrenn-agent [--port N] [--listen ADDRESS] [--ended-process-retention SECONDS] [--verbose]";

    public int Port { get; init; } = Wrenn.Guest.Protocol.AgentEndpoint.DefaultPort;
    public string Listen { get; init; } = "0.0.0.0";

    /// <summary>How long a process started with StartProcess stays listed (with its exit) after it ends.</summary>
    public TimeSpan EndedProcessRetention { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>At most this many ended processes are kept (the oldest go first): each holds up to 1 MiB of output.</summary>
    public int MaxEndedProcesses { get; init; } = 64;

    public bool Verbose { get; init; }

    /// <summary>Parses the command line; null and a message on stderr when an argument is bad.</summary>
    public static AgentOptions? Parse(string[] args)
    {
        var options = new AgentOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--port" when int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536:
                    options = options with { Port = p };
                    i++;
                    break;
                case "--listen" when System.Net.IPAddress.TryParse(value, out _):
                    options = options with { Listen = value! };
                    i++;
                    break;
                case "--ended-process-retention" when double.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var s) && s >= 0:
                    options = options with { EndedProcessRetention = TimeSpan.FromSeconds(s) };
                    i++;
                    break;
                case "--verbose":
                    options = options with { Verbose = true };
                    break;
                default:
                    Console.Error.WriteLine($"wrenn-agent: bad argument '{args[i]}'{(value is null ? "" : $" (followed by '{value}')")}. {Usage}");
                    return null;
            }
        }
        return options;
    }
}
