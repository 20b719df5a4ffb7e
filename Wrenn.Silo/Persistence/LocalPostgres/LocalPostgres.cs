using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Wrenn.Silo.Persistence.LocalPostgres;

/// <summary>
/// A PostgreSQL server that belongs to one silo: initialised on first use, started as a child
/// process that dies with the silo (also when the silo is killed), stopped on dispose.
/// </summary>
/// <remarks>
/// The server is started with <c>setpriv --pdeathsig KILL</c>. The kernel sends that signal when the
/// <em>thread</em> that forked the child exits, so the child is started from a dedicated thread that
/// lives exactly as long as this object; a thread-pool thread could retire and take PostgreSQL with it.
/// </remarks>
public sealed partial class LocalPostgres : IAsyncDisposable
{
    private const int Port = 5432;
    private readonly LocalPostgresOptions _options;
    private readonly ILogger _logger;
    private readonly LogTail _log = new(40);
    private readonly ManualResetEventSlim _stopOwnerThread = new();
    private Process? _server;

    private LocalPostgres(LocalPostgresOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        ConnectionString = ConnectionStringFor(options);
    }

    /// <summary>Connects as Wrenn's role to Wrenn's database over the Unix socket.</summary>
    public string ConnectionString { get; }

    /// <summary>
    /// How to connect to the server these options describe, known before it starts (so that a
    /// silo's services can be composed first): the socket, the role and its password, which is
    /// made on the very first call and kept beside the cluster.
    /// </summary>
    public static string ConnectionStringFor(LocalPostgresOptions options) => new NpgsqlConnectionStringBuilder
    {
        Host = options.SocketDir,
        Port = Port,
        Username = options.Role,
        Password = Password(options),
        Database = options.Database,
        MaxPoolSize = 50,
    }.ConnectionString;

    /// <summary>The role's password: read from the folder, or made once for a cluster that does not exist yet.</summary>
    private static string Password(LocalPostgresOptions options)
    {
        var passwordFile = Path.Combine(options.Folder, "password");
        if (File.Exists(passwordFile))
            return File.ReadAllText(passwordFile).Trim();
        var dataDir = Path.Combine(options.Folder, "data");
        if (File.Exists(Path.Combine(dataDir, "PG_VERSION")))
            throw new LocalPostgresException($"{dataDir} holds a PostgreSQL cluster but {passwordFile} is missing; restore the file or remove the folder to start afresh.");
        Directory.CreateDirectory(options.Folder);
        var password = RandomNumberGenerator.GetHexString(40, lowercase: true);
        var partial = passwordFile + ".partial";
        File.WriteAllText(partial, password);
        File.SetUnixFileMode(partial, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(partial, passwordFile, overwrite: false);
        return password;
    }

    private string DataDir => Path.Combine(_options.Folder, "data");

    public static async Task<LocalPostgres> StartAsync(LocalPostgresOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        await PrepareAsync(options, logger, cancellationToken);
        var server = new LocalPostgres(options, logger);
        try
        {
            server.Launch();
            await server.WaitUntilReadyAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates the folders and, the first time, the cluster with the role's password.</summary>
    private static async Task PrepareAsync(LocalPostgresOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        var (uid, gid) = OsUsers.Lookup(options.OsUser);
        Directory.CreateDirectory(options.Folder);
        OsUsers.AllowTraverse(options.Folder);
        Directory.CreateDirectory(options.SocketDir);
        OsUsers.AllowTraverse(options.SocketDir);
        File.SetUnixFileMode(options.SocketDir, (UnixFileMode)0b111_101_101);
        OsUsers.Chown(options.SocketDir, uid, gid);

        var password = Password(options);
        var dataDir = Path.Combine(options.Folder, "data");
        if (File.Exists(Path.Combine(dataDir, "PG_VERSION")))
            return;

        LogInitialising(logger, dataDir);
        if (Directory.Exists(dataDir))
            Directory.Delete(dataDir, recursive: true); // a half-made cluster from an interrupted first start
        Directory.CreateDirectory(dataDir);
        OsUsers.Chown(dataDir, uid, gid);
        File.SetUnixFileMode(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // initdb reads the password from a file the postgres user can read; it lives only for initdb.
        var initPasswordFile = Path.Combine(dataDir, "..", $".initdb-password-{Environment.ProcessId}");
        await File.WriteAllTextAsync(initPasswordFile, password, cancellationToken);
        File.SetUnixFileMode(initPasswordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        OsUsers.Chown(initPasswordFile, uid, gid);
        try
        {
            var result = await OsUsers.RunAsAsync(options.OsUser, "initdb",
                ["-D", dataDir, "-U", options.Role, "--auth=scram-sha-256", $"--pwfile={initPasswordFile}", "-E", "UTF8", "--locale=C", "--no-instructions"],
                cancellationToken);
            if (result.ExitCode != 0)
                throw new LocalPostgresException($"initdb for {dataDir} failed (exit {result.ExitCode}):\n{result.Output}");
        }
        finally
        {
            File.Delete(initPasswordFile);
        }
    }

    private void Launch()
    {
        ThrowIfAnotherServerOwns();
        string[] settings =
        [
            "-k", _options.SocketDir, "-p", Port.ToString(), "-c", "listen_addresses=",
            "-c", "max_connections=300", "-c", "shared_buffers=32MB",
            .. _options.Durable ? Array.Empty<string>() : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
        ];
        Exception? failure = null;
        using var started = new ManualResetEventSlim();
        var owner = new Thread(() =>
        {
            try
            {
                var start = OsUsers.StartInfoAs(_options.OsUser, "postgres", ["-D", DataDir, .. settings], pdeathsigKill: true);
                start.RedirectStandardError = true;
                start.RedirectStandardOutput = true;
                _server = Process.Start(start)!;
                _server.ErrorDataReceived += (_, e) => OnServerLine(e.Data);
                _server.OutputDataReceived += (_, e) => OnServerLine(e.Data);
                _server.BeginErrorReadLine();
                _server.BeginOutputReadLine();
            }
            catch (Exception e)
            {
                failure = e;
            }
            started.Set();
            _stopOwnerThread.Wait();
        })
        { IsBackground = true, Name = "wrenn-postgres-owner" };
        owner.Start();
        started.Wait();
        if (failure is not null)
            throw new LocalPostgresException($"Could not start postgres for {DataDir}: {failure.Message}");
        LogStarted(_logger, DataDir, _options.SocketDir, _server!.Id);
    }

    /// <summary>A live postmaster on the same data folder means another silo uses it; two would corrupt it.</summary>
    private void ThrowIfAnotherServerOwns()
    {
        var pidFile = Path.Combine(DataDir, "postmaster.pid");
        if (!File.Exists(pidFile))
            return;
        var firstLine = File.ReadLines(pidFile).FirstOrDefault();
        if (int.TryParse(firstLine, out var pid) && Directory.Exists($"/proc/{pid}")
            && File.ReadAllText($"/proc/{pid}/cmdline").Contains("postgres", StringComparison.Ordinal))
            throw new LocalPostgresException($"PostgreSQL (pid {pid}) already runs on {DataDir}; is another silo using this data folder? Stop it first.");
    }

    private void OnServerLine(string? line)
    {
        if (line is null)
            return;
        _log.Add(line);
        LogServerLine(_logger, line);
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + _options.StartTimeout;
        var admin = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = "postgres", Pooling = false, Timeout = 5 }.ConnectionString;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_server!.HasExited)
                throw new LocalPostgresException($"postgres for {DataDir} exited with code {_server.ExitCode} while starting. Its log:\n{_log}");
            try
            {
                await using var connection = new NpgsqlConnection(admin);
                await connection.OpenAsync(cancellationToken);
                await CreateDatabaseIfMissingAsync(connection, cancellationToken);
                return;
            }
            catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, cancellationToken);
            }
            catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
            {
                throw new LocalPostgresException($"postgres for {DataDir} did not accept connections within {_options.StartTimeout.TotalSeconds:0} s ({e.Message}). Its log:\n{_log}");
            }
        }
    }

    private async Task CreateDatabaseIfMissingAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection) { Parameters = { new() { Value = _options.Database } } };
        if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
            return;
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{_options.Database.Replace("\"", "\"\"")}\"", connection);
        await create.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Kills the server at once, without a shutdown checkpoint: for throwaway clusters (tests) whose
    /// folder is deleted next, when there is no time to wait (process exit).
    /// </summary>
    public void KillNow()
    {
        if (_server is { HasExited: false } server)
        {
            OsUsers.KillWithChildren(server.Id);
            server.WaitForExit(2000);
        }
        _stopOwnerThread.Set();
    }

    /// <summary>Fast shutdown (SIGINT): open transactions roll back, the server exits within seconds.</summary>
    public async ValueTask DisposeAsync()
    {
        var server = _server;
        if (server is not null && !server.HasExited)
        {
            NpgsqlConnection.ClearAllPools();
            OsUsers.Signal(server.Id, OsUsers.SigInt);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(8));
            try
            {
                await server.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                LogKilled(_logger, DataDir);
                OsUsers.KillWithChildren(server.Id);
                await server.WaitForExitAsync(CancellationToken.None);
            }
            LogStopped(_logger, DataDir);
        }
        server?.Dispose();
        _stopOwnerThread.Set();
        RemoveSocketDirIfEmpty();
    }

    /// <summary>The socket folder is ours and holds nothing once the server is gone (it may be shared, so only if empty).</summary>
    private void RemoveSocketDirIfEmpty()
    {
        try
        {
            if (Directory.Exists(_options.SocketDir) && !Directory.EnumerateFileSystemEntries(_options.SocketDir).Any())
                Directory.Delete(_options.SocketDir);
        }
        catch (IOException)
        {
            // Something arrived meanwhile: it stays.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Initialising a PostgreSQL cluster in {DataDir} (first start)")]
    private static partial void LogInitialising(ILogger logger, string dataDir);

    [LoggerMessage(Level = LogLevel.Information, Message = "Started PostgreSQL on {DataDir}, socket in {SocketDir} (pid {Pid})")]
    private static partial void LogStarted(ILogger logger, string dataDir, string socketDir, int pid);

    [LoggerMessage(Level = LogLevel.Debug, Message = "postgres: {Line}")]
    private static partial void LogServerLine(ILogger logger, string line);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL on {DataDir} did not stop within 8 s of SIGINT; killed it")]
    private static partial void LogKilled(ILogger logger, string dataDir);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped PostgreSQL on {DataDir}")]
    private static partial void LogStopped(ILogger logger, string dataDir);
}
