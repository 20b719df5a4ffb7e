using System.Diagnostics;
using System.Text.Json;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.Connect;
using Wrenn.Guest.Protocol.V1;
using Wrenn.Testing;

namespace Wrenn.Guest.Tests;

/// <summary>
/// Our Connect implementation against a real third-party peer, Connect for Node
/// (@connectrpc/connect-node): its client calls our agent, and our client calls its server.
/// The Node code is generated from our .proto files by scripts/setup (35-node-protos).
/// </summary>
public sealed class ConnectInteropTests(AgentProcessFixture agent) : IClassFixture<AgentProcessFixture>
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);
    private static string Scripts => Path.Combine(RepoPaths.NodeTests, "connect");

    [Theory]
    [InlineData("proto")]
    [InlineData("json")]
    public async Task The_node_connect_client_calls_the_agent(string format)
    {
        var start = new ProcessStartInfo("node") { WorkingDirectory = Scripts, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("client.mjs");
        start.ArgumentList.Add(agent.BaseAddress.ToString().TrimEnd('/'));
        start.ArgumentList.Add(format);
        var file = Path.Combine(Path.GetTempPath(), $"wt-interop-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(file, new byte[4500], Ct);
        start.ArgumentList.Add(file);
        string stdout, stderr;
        using var node = Process.Start(start)!;
        try
        {
            var stdoutTask = node.StandardOutput.ReadToEndAsync(Ct);
            var stderrTask = node.StandardError.ReadToEndAsync(Ct);
            stdout = await stdoutTask;
            stderr = await stderrTask;
            await node.WaitForExitAsync(Ct);
        }
        finally
        {
            if (!node.HasExited)
                node.Kill();
            File.Delete(file);
        }
        Assert.True(node.ExitCode == 0, $"node client failed: {stderr}");

        using var seen = JsonDocument.Parse(stdout);
        var root = seen.RootElement;
        Assert.False(string.IsNullOrEmpty(root.GetProperty("version").GetString()));
        Assert.True(root.GetProperty("pid").GetInt32() > 0);
        Assert.Equal("out\n", root.GetProperty("stdout").GetString());
        Assert.Equal("err\n", root.GetProperty("stderr").GetString());
        Assert.Equal(4, root.GetProperty("exitCode").GetInt32());
        Assert.Equal(File.Exists("/dev/ptp0"), root.GetProperty("hasPtpClock").GetBoolean());
        // Connect for Node names codes in CamelCase (Code.NotFound).
        Assert.Equal("NotFound", root.GetProperty("missingFile").GetString());
        Assert.Equal("InvalidArgument", root.GetProperty("relativePath").GetString());
        Assert.Equal("NotFound", root.GetProperty("unknownPid").GetString());
        Assert.Equal(4500, root.GetProperty("read").GetInt32());
        Assert.Equal(5, root.GetProperty("chunks").GetInt32());
    }

    [Theory]
    [InlineData("proto")]
    [InlineData("json")]
    public async Task Our_client_calls_a_node_connect_server(string format)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Scripts, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        start.ArgumentList.Add("server.mjs");
        using var node = Process.Start(start)!;
        try
        {
            var ready = await node.StandardOutput.ReadLineAsync(Ct)
                ?? throw new InvalidOperationException("node server exited: " + await node.StandardError.ReadToEndAsync(Ct));
            var port = JsonDocument.Parse(ready).RootElement.GetProperty("port").GetInt32();
            using var client = new AgentClient(new Uri($"http://127.0.0.1:{port}/"), format == "json" ? ConnectCodec.Json : ConnectCodec.Proto);

            var health = await client.HealthAsync(Ct);
            Assert.Equal("node-peer", health.Version);
            Assert.Equal(1234, health.UptimeMs);

            var result = await client.ExecAsync("ls", ["-l", "/"], Ct);
            Assert.Equal(7, result.ExitCode);
            Assert.Equal("ran ls -l /\n", result.StdoutText);
            Assert.Equal("node says hi\n", result.StderrText);

            var missing = await Assert.ThrowsAsync<ConnectException>(() => client.StatAsync("/nothing", Ct));
            Assert.Equal(ConnectCode.NotFound, missing.Code);
            Assert.Equal("/nothing is not here", missing.Message);

            // An error after some messages arrives in the end-of-stream message, after the data.
            var chunks = new List<string>();
            var broken = await Assert.ThrowsAsync<ConnectException>(async () =>
            {
                await foreach (var chunk in client.ReadFileAsync("/any", Ct))
                    chunks.Add(System.Text.Encoding.UTF8.GetString(chunk.Span));
            });
            Assert.Equal(["partial"], chunks);
            Assert.Equal(ConnectCode.DataLoss, broken.Code);

            var unimplemented = await Assert.ThrowsAsync<ConnectException>(() => client.ListProcessesAsync(Ct));
            Assert.Equal(ConnectCode.Unimplemented, unimplemented.Code);
        }
        finally
        {
            node.StandardInput.Close();
            if (!node.WaitForExit(5000))
                node.Kill();
        }
    }
}
