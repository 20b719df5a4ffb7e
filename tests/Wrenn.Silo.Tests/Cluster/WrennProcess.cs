using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Wrenn.Silo.Tests.Cluster;

/// <summary>
/// <c>wrenn run</c> as its own process, as an operator starts it; its output is kept to quote when
/// a test fails. Owns its process: <see cref="DisposeAsync"/> stops it (SIGTERM, then SIGKILL).
/// </summary>
public sealed partial class WrennProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private WrennProcess(Process process) => _process = process;

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_output)
                return [.. _output];
        }
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The GraphQL URL the silo printed once it served.</summary>
    public Uri GraphQL => new(Lines.Select(l => ReadyLine().Match(l)).First(m => m.Success).Groups["url"].Value);

    /// <summary>The API's base address (scheme, host and port of <see cref="GraphQL"/>).</summary>
    public Uri Api => new(GraphQL.GetLeftPart(UriPartial.Authority));

    /// <summary>The admin key printed on the first start of a fresh database, if this start was it.</summary>
    public string? FirstAdminKey => Lines.FirstOrDefault(l => AdminKeyLine().IsMatch(l));

    public static Task<WrennProcess> StartAsync(string dataDir, string? connectionString, string owner, string name, params string[] extra) =>
        StartAsync(Path.Combine(AppContext.BaseDirectory, "wrenn.dll"), RunArguments(dataDir, connectionString, owner, name, "0", extra));

    /// <summary>The arguments of <c>wrenn run</c> every test silo takes (its owner prefix, host name and database).</summary>
    public static string[] RunArguments(string dataDir, string? connectionString, string owner, string name, string port, params string[] extra) =>
        ["run", "--data-dir", dataDir, .. connectionString is null ? Array.Empty<string>() : ["--postgres", connectionString],
         "--owner-prefix", owner, "--name", name, "--port", port, .. extra];

    /// <summary>Any build of <c>wrenn</c> (<paramref name="wrennDll"/>), started with <paramref name="arguments"/>, once it printed its ready line.</summary>
    public static async Task<WrennProcess> StartAsync(string wrennDll, string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(wrennDll);
        foreach (var arg in arguments)
            start.ArgumentList.Add(arg);
        var wrenn = new WrennProcess(Process.Start(start)!);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null)
                return;
            lock (wrenn._output)
                wrenn._output.Add(line);
            if (ReadyLine().IsMatch(line))
                ready.TrySetResult();
        }
        wrenn._process.OutputDataReceived += (_, e) => OnLine(e.Data);
        wrenn._process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        wrenn._process.BeginOutputReadLine();
        wrenn._process.BeginErrorReadLine();
        var exited = wrenn._process.WaitForExitAsync();
        if (await Task.WhenAny(ready.Task, exited, Task.Delay(TimeSpan.FromSeconds(180))) != ready.Task)
        {
            wrenn.Kill();
            Assert.Fail($"wrenn run did not become ready:\n{wrenn.Output()}");
        }
        return wrenn;
    }

    /// <summary>Waits for a line matching <paramref name="pattern"/> (an older build prints some after its ready line).</summary>
    public async Task<string> WaitForLineAsync(string pattern, TimeSpan within)
    {
        var regex = new Regex(pattern);
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            if (Lines.FirstOrDefault(regex.IsMatch) is { } line)
                return line;
            await Task.Delay(100);
        }
        throw new TimeoutException($"no line matching {pattern} within {within}:\n{Output()}");
    }

    public string Output()
    {
        lock (_output)
            return string.Join('\n', _output);
    }

    /// <summary>SIGKILL: no goodbye, VMs and their page servers keep running.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
            _process.Kill();
        _process.WaitForExit();
    }

    public async Task StopAsync()
    {
        if (_process.HasExited)
            return;
        Process.Start("kill", ["-TERM", _process.Id.ToString()]).WaitForExit();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await _process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            Assert.Fail($"wrenn run did not stop within 60 s of SIGTERM:\n{Output()}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            Kill();
            _process.Dispose();
        }
    }

    [GeneratedRegex(@"is ready\. GraphQL: (?<url>http://\S+)")]
    private static partial Regex ReadyLine();

    [GeneratedRegex("^wrn_[A-Za-z0-9_-]{32,}$")]
    private static partial Regex AdminKeyLine();
}
