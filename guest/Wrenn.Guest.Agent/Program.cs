using Microsoft.AspNetCore.Server.Kestrel.Core;
using Wrenn.Guest.Agent;
using Wrenn.Guest.Agent.Files;
using Wrenn.Guest.Agent.Health;
using Wrenn.Guest.Agent.Processes;
using Wrenn.Guest.Protocol;

// The guest agent: process, filesystem and system services over gRPC (HTTP/2 cleartext).
var uptime = new AgentUptime();
if (AgentOptions.Parse(args) is not { } options)
    return 2;

// No configuration files to reload: by default the host watches its content root (the working
// directory, / in the guest) recursively for appsettings changes, which held an inotify watch for
// every folder of the guest (thousands) and woke the agent for every folder users made.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
{
    ContentRootPath = AppContext.BaseDirectory,
    Args = ["--hostBuilder:reloadConfigOnChange=false"],
});
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
// Concise: the agent's stderr is the guest console, which is slow under emulation.
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Logging.AddFilter("Wrenn", options.Verbose ? LogLevel.Debug : LogLevel.Information);
builder.WebHost.ConfigureKestrel(k =>
{
    // HTTP/2 only: without TLS there is no ALPN, so clients speak HTTP/2 with prior knowledge (h2c).
    k.Listen(System.Net.IPAddress.Parse(options.Listen), options.Port, listen => listen.Protocols = HttpProtocols.Http2);
    // Many attached outputs and watches may share the silo's one connection.
    k.Limits.Http2.MaxStreamsPerConnection = 1000;
});
builder.Services.AddSingleton(options);
builder.Services.AddSingleton(uptime);
builder.Services.AddSingleton<ProcessTable>();
builder.Services.AddGrpc(grpc =>
{
    grpc.MaxReceiveMessageSize = AgentClient.MaxMessageBytes;
    grpc.MaxSendMessageSize = AgentClient.MaxMessageBytes;
    grpc.EnableDetailedErrors = false;
});

var app = builder.Build();
app.MapGrpcService<ProcessGrpcService>();
app.MapGrpcService<FilesystemGrpcService>();
app.MapGrpcService<SystemGrpcService>();
// tini passes SIGTERM on; the process groups the agent started go with it.
app.Lifetime.ApplicationStopping.Register(() => app.Services.GetRequiredService<ProcessTable>().KillAll());

await app.StartAsync();
Console.Error.WriteLine($"wrenn-agent: listening on {options.Listen}:{options.Port} (gRPC, protocol {AgentEndpoint.ProtocolVersion})");
await app.WaitForShutdownAsync();
return 0;
