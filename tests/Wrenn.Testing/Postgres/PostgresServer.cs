using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Wrenn.Silo.Persistence.LocalPostgres;

namespace Wrenn.Testing.Postgres;

/// <summary>
/// One real PostgreSQL per test process, started on first use under /run/wrenn/{owner}-pg (tmpfs,
/// no fsync) and stopped when the process exits; if the process is killed, the server dies with it
/// (parent-death signal) and the next run sweeps the folder. Each test class gets its own database.
/// </summary>
public sealed class PostgresServer
{
    private static readonly SemaphoreSlim StartLock = new(1, 1);
    private static PostgresServer? _shared;
    private readonly LocalPostgres _server;
    private readonly string _owner;
    private int _databases;

    private PostgresServer(LocalPostgres server, string owner)
    {
        _server = server;
        _owner = owner;
    }

    /// <summary>The process-wide server, started (and leftovers of crashed runs swept) on first call.</summary>
    public static async Task<PostgresServer> SharedAsync()
    {
        await StartLock.WaitAsync();
        try
        {
            if (_shared is not null)
                return _shared;
            SweepLeftovers();
            var owner = TestPrefix.NewOwner();
            var folder = $"/run/wrenn/{owner}-pg";
            var server = await LocalPostgres.StartAsync(
                new LocalPostgresOptions { Folder = folder, SocketDir = folder, Durable = false },
                NullLogger.Instance, CancellationToken.None);
            _shared = new PostgresServer(server, owner);
            StartReaper(folder, owner);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => server.KillNow();
            return _shared;
        }
        finally
        {
            StartLock.Release();
        }
    }

    /// <summary>A fresh, empty database; its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string purpose)
    {
        var name = $"{_owner}_{Interlocked.Increment(ref _databases)}_{new string(purpose.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(30).ToArray())}";
        var admin = new NpgsqlConnectionStringBuilder(_server.ConnectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(admin.ConnectionString);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await create.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(_server.ConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>
    /// The test host kills its process soon after exit handlers start, so the folder is removed by a
    /// detached reaper that waits for this process to end (also when it crashes); postgres itself dies
    /// with this process through its parent-death signal.
    /// </summary>
    private static void StartReaper(string folder, string owner)
    {
        var script = $"while [ -d /proc/{Environment.ProcessId} ]; do sleep 0.5; done; sleep 1; rm -rf '{folder}' '{TestPrefix.OwnersFolder}/{owner}'";
        var start = new ProcessStartInfo("setsid", ["sh", "-c", script]) { UseShellExecute = false, RedirectStandardInput = false };
        Process.Start(start)!.Dispose();
    }

    /// <summary>Folders of test servers whose process is gone, and any postgres process still working in one.</summary>
    private static void SweepLeftovers()
    {
        if (!Directory.Exists("/run/wrenn"))
            return;
        KillLeftoverServers();
        foreach (var folder in Directory.EnumerateDirectories("/run/wrenn", TestPrefix.Family + "*-pg"))
        {
            if (!TestPrefix.IsLive(Path.GetFileName(folder)[..^3]))
                DeleteRacingItsReaper(folder);
        }
    }

    /// <summary>
    /// Processes (a postmaster or its children, running or stopped) whose working folder is a test
    /// server's data folder of a run that is over, also after that folder was deleted: an earlier
    /// version's kill at exit could leave children stopped for ever.
    /// </summary>
    private static void KillLeftoverServers()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            string? cwd;
            try
            {
                cwd = new FileInfo(Path.Combine(dir, "cwd")).LinkTarget;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            // "/run/wrenn/wtXXXX-pg/data", with " (deleted)" once the folder is gone.
            if (cwd is null || !cwd.StartsWith("/run/wrenn/" + TestPrefix.Family, StringComparison.Ordinal))
                continue;
            var folder = cwd["/run/wrenn/".Length..].Split('/')[0];
            if (!folder.EndsWith("-pg", StringComparison.Ordinal) || TestPrefix.IsLive(folder[..^3]))
                continue;
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // Ended while we looked.
            }
        }
    }

    /// <summary>The ended run's own reaper may be deleting the folder at the same time, and its postgres may still be dying.</summary>
    private static void DeleteRacingItsReaper(string folder)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (Directory.Exists(folder))
                    Directory.Delete(folder, recursive: true);
                return;
            }
            catch (IOException) when (attempt < 20)
            {
                // Part of it went while we walked it (DirectoryNotFoundException), or a dying postgres
                // still wrote into it: look again in a moment.
                Thread.Sleep(100);
            }
        }
    }
}
