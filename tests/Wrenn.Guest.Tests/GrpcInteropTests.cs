using System.Diagnostics;
using System.Text.Json;
using Grpc.Core;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.V1;
using Wrenn.Testing;

namespace Wrenn.Guest.Tests;

/// <summary>
/// The agent and AgentClient against a real third-party gRPC implementation, gRPC for Node
/// (@grpc/grpc-js with @grpc/proto-loader reading our .proto files): its client calls our agent,
/// and our client calls its server.
/// </summary>
public sealed class GrpcInteropTests(AgentProcessFixture agent) : IClassFixture<AgentProcessFixture>, IDisposable
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("wt-interop-").FullName;
    private static string Scripts => Path.Combine(RepoPaths.NodeTests, "grpc");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task The_node_grpc_client_calls_the_agent()
    {
        var file = Path.Combine(_dir, "read-me");
        await File.WriteAllBytesAsync(file, new byte[4500], Ct);
        var start = new ProcessStartInfo("node") { WorkingDirectory = Scripts, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "client.mjs", $"127.0.0.1:{agent.Port}", file, _dir })
            start.ArgumentList.Add(arg);
        using var node = Process.Start(start)!;
        string stdout, stderr;
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
        }
        Assert.True(node.ExitCode == 0, $"node client failed: {stderr}");

        using var seen = JsonDocument.Parse(stdout);
        var root = seen.RootElement;
        Assert.False(string.IsNullOrEmpty(root.GetProperty("version").GetString()));
        Assert.Equal(AgentEndpoint.ProtocolVersion, root.GetProperty("protocolVersion").GetInt32());
        Assert.Contains("pty", root.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        Assert.True(root.GetProperty("pid").GetInt32() > 0);
        Assert.Equal("out\n", root.GetProperty("stdout").GetString());
        Assert.Equal("err\n", root.GetProperty("stderr").GetString());
        Assert.Equal(4, root.GetProperty("exitCode").GetInt32());
        Assert.Equal("NOT_FOUND", root.GetProperty("missingFile").GetString());
        Assert.Equal("INVALID_ARGUMENT", root.GetProperty("relativePath").GetString());
        Assert.Equal("NOT_FOUND", root.GetProperty("unknownPid").GetString());
        Assert.Equal("INVALID_ARGUMENT", root.GetProperty("pidOne").GetString());
        Assert.Equal(4500, root.GetProperty("read").GetInt32());
        Assert.Equal(5, root.GetProperty("chunks").GetInt32());
        Assert.Equal(13, root.GetProperty("written").GetInt32());
        Assert.Equal("one,two,three", root.GetProperty("writtenContent").GetString());
        Assert.True(root.GetProperty("shellPty").GetBoolean());
        Assert.True(root.GetProperty("shellAnswered").GetBoolean());
        Assert.Equal("FILE_EVENT_TYPE_CREATE", root.GetProperty("watched").GetProperty("type").GetString());
        Assert.False(root.GetProperty("watched").GetProperty("isDirectory").GetBoolean());
    }

    [Fact]
    public async Task Our_client_calls_a_node_grpc_server()
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
            using var client = new AgentClient(new Uri($"http://127.0.0.1:{port}/"));

            var health = await client.HealthAsync(Ct);
            Assert.Equal(("node-peer", 1234L, 99), (health.Version, health.UptimeMs, health.ProtocolVersion));
            Assert.Equal(["node"], health.Capabilities);

            var result = await client.ExecAsync("ls", ["-l", "/"], Ct);
            Assert.Equal(7, result.ExitCode);
            Assert.Equal("ran ls -l /\n", result.StdoutText);
            Assert.Equal("node says hi\n", result.StderrText);

            var missing = await Assert.ThrowsAsync<AgentException>(() => client.StatAsync("/nothing", Ct));
            Assert.Equal(StatusCode.NotFound, missing.Code);
            Assert.Equal("/nothing is not here", missing.Message);

            // An error after some messages arrives in the trailers, after the data.
            var chunks = new List<string>();
            var broken = await Assert.ThrowsAsync<AgentException>(async () =>
            {
                await foreach (var chunk in client.ReadFileAsync("/any", Ct))
                    chunks.Add(System.Text.Encoding.UTF8.GetString(chunk.Span));
            });
            Assert.Equal(["partial"], chunks);
            Assert.Equal(StatusCode.DataLoss, broken.Code);

            // Client streaming: 600 KiB goes out as three chunks of one call.
            var written = await client.WriteAllBytesAsync("/peer/file", new byte[600 * 1024], Ct);
            Assert.Equal(("/peer/file", 600L * 1024, "3 messages"), (written.Path, written.Size, written.Name));

            using var watch = await client.WatchAsync("/peer", recursive: false, Ct);
            var events = new List<FileEvent>();
            await foreach (var e in watch.WithCancellation(Ct))
                events.Add(e);
            var rename = Assert.Single(events);
            Assert.Equal((FileEventType.Rename, "/peer/new", "/peer/old"), (rename.Type, rename.Path, rename.OldPath));

            var unimplemented = await Assert.ThrowsAsync<AgentException>(() => client.ListProcessesAsync(Ct));
            Assert.Equal(StatusCode.Unimplemented, unimplemented.Code);
        }
        finally
        {
            node.StandardInput.Close();
            if (!node.WaitForExit(5000))
                node.Kill();
        }
    }
}
