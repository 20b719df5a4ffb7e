using Wrenn.Guest.Agent.Services;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.Connect;

// The guest agent: process, filesystem and system services over the Connect protocol.
// Usage: wrenn-agent [--port N] [--listen ADDRESS] [--verbose]
var uptime = System.Diagnostics.Stopwatch.StartNew();
var port = AgentEndpoint.DefaultPort;
var listen = "0.0.0.0";
var verbose = false;
for (var i = 0; i < args.Length; i++)
{
    var value = i + 1 < args.Length ? args[i + 1] : null;
    switch (args[i])
    {
        case "--port" when int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536:
            port = p;
            i++;
            break;
        case "--listen" when System.Net.IPAddress.TryParse(value, out _):
            listen = value!;
            i++;
            break;
        case "--verbose":
            verbose = true;
            break;
        default:
            Console.Error.WriteLine($"wrenn-agent: bad argument '{args[i]}'. Usage: wrenn-agent [--port N] [--listen ADDRESS] [--verbose]");
            return 2;
    }
}

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
// Concise: the agent's stderr is the guest console, which is slow under emulation.
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Logging.AddFilter("Wrenn", verbose ? LogLevel.Debug : LogLevel.Information);
builder.WebHost.ConfigureKestrel(k =>
{
    k.Listen(System.Net.IPAddress.Parse(listen), port);
    // Above the Connect limit, so that the Connect server answers an oversize message with a
    // Connect error (resource_exhausted) before Kestrel cuts the connection.
    k.Limits.MaxRequestBodySize = Envelope.MaxMessageBytes + 1024 * 1024;
});
builder.Services.AddSingleton<ProcessTable>();

var app = builder.Build();
var server = new ConnectServer(app);
ProcessEndpoints.Map(server, app.Services.GetRequiredService<ProcessTable>());
FilesystemEndpoints.Map(server);
SystemEndpoints.Map(server, uptime);
// tini passes SIGTERM on; the process groups the agent started go with it.
app.Lifetime.ApplicationStopping.Register(() => app.Services.GetRequiredService<ProcessTable>().KillAll());

await app.StartAsync();
Console.Error.WriteLine($"wrenn-agent: listening on {listen}:{port}");
await app.WaitForShutdownAsync();
return 0;
