using Wrenn.Guest.Agent.Services;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.Connect;

// The guest agent: process, filesystem and system services over the Connect protocol.
// Usage: wrenn-agent [--port N] [--listen ADDRESS]
var port = AgentEndpoint.DefaultPort;
var listen = "0.0.0.0";
for (var i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--port") port = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
    if (args[i] == "--listen") listen = args[i + 1];
}

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(k =>
{
    k.Listen(System.Net.IPAddress.Parse(listen), port);
    k.Limits.MaxRequestBodySize = Envelope.MaxMessageBytes;
});
builder.Services.AddSingleton<ProcessTable>();

var app = builder.Build();
var server = new ConnectServer(app);
ProcessEndpoints.Map(server, app.Services.GetRequiredService<ProcessTable>());
FilesystemEndpoints.Map(server);
SystemEndpoints.Map(server);

await app.StartAsync();
Console.Error.WriteLine($"wrenn-agent: listening on {listen}:{port}");
await app.WaitForShutdownAsync();
