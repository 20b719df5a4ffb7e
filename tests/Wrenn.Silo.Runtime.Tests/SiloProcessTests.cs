using System.Diagnostics;
using Wrenn.Testing.Postgres;

namespace Wrenn.Silo.Runtime.Tests;

/// <summary>Silos as separate OS processes on loopback, as they run in production.</summary>
public sealed class SiloProcessTests
{
    [Fact]
    public async Task Two_silo_processes_form_one_cluster_and_one_takes_over_when_the_other_is_killed()
    {
        var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("processes");
        await using var a = await SiloProcess.StartAsync(database, "proc-a");
        await using var b = await SiloProcess.StartAsync(database, "proc-b");

        Assert.True(await Clusters.EventuallyAsync(async () => await a.AskAsync("members") == "proc-a proc-b", TimeSpan.FromSeconds(10)));
        var activatedByA = await a.AskAsync("where shared");
        Assert.StartsWith("proc-a ", activatedByA);
        Assert.Equal(activatedByA, await b.AskAsync("where shared")); // b's call was forwarded to a's activation

        a.Kill();
        Assert.True(await Clusters.EventuallyAsync(async () => (await b.AskAsync("where shared")).StartsWith("proc-b ", StringComparison.Ordinal), TimeSpan.FromSeconds(20)),
            "the grain did not come back on the surviving process");
        Assert.Equal("proc-b", await b.AskAsync("members"));
    }

    /// <summary>A test silo process driven over stdin; killed on dispose whatever happened.</summary>
    private sealed class SiloProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly List<string> _errors = [];

        private SiloProcess(Process process) => _process = process;

        public static async Task<SiloProcess> StartAsync(string connectionString, string name)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Wrenn.Silo.Runtime.TestSilo.dll"));
            start.ArgumentList.Add(connectionString);
            start.ArgumentList.Add(name);
            var silo = new SiloProcess(Process.Start(start)!);
            silo._process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                    lock (silo._errors) silo._errors.Add(e.Data);
            };
            silo._process.BeginErrorReadLine();
            var ready = await silo.ReadLineAsync(TimeSpan.FromSeconds(60));
            Assert.True(ready.StartsWith($"ready {name} ", StringComparison.Ordinal), $"silo {name} did not start: {ready}");
            return silo;
        }

        public async Task<string> AskAsync(string command)
        {
            await _process.StandardInput.WriteLineAsync(command);
            await _process.StandardInput.FlushAsync();
            return await ReadLineAsync(TimeSpan.FromSeconds(60));
        }

        private async Task<string> ReadLineAsync(TimeSpan timeout)
        {
            using var limit = new CancellationTokenSource(timeout);
            try
            {
                return await _process.StandardOutput.ReadLineAsync(limit.Token) ?? $"(process exited; stderr: {Errors()})";
            }
            catch (OperationCanceledException)
            {
                return $"(no answer within {timeout.TotalSeconds} s; stderr: {Errors()})";
            }
        }

        private string Errors()
        {
            lock (_errors)
                return string.Join('\n', _errors);
        }

        public void Kill()
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        public ValueTask DisposeAsync()
        {
            Kill();
            _process.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
