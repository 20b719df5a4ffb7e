using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Wrenn.Silo.Persistence.LocalPostgres;
using Wrenn.Testing;

namespace Wrenn.Silo.Tests.Persistence;

/// <summary>The silo's own PostgreSQL: initdb as the postgres user, a generated password, data that survives a restart.</summary>
public sealed class LocalPostgresTests
{
    [Fact]
    public async Task A_fresh_folder_becomes_a_password_protected_server_whose_data_survives_a_restart()
    {
        var owner = TestPrefix.NewOwner();
        var folder = $"/run/wrenn/{owner}-pg";
        var options = new LocalPostgresOptions { Folder = folder, SocketDir = folder, Durable = false };
        try
        {
            await using (var first = await LocalPostgres.StartAsync(options, NullLogger.Instance, CancellationToken.None))
            {
                await using var data = NpgsqlDataSource.Create(first.ConnectionString);
                await using var create = data.CreateCommand("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')");
                await create.ExecuteNonQueryAsync();

                var wrongPassword = new NpgsqlConnectionStringBuilder(first.ConnectionString) { Password = "wrong", Pooling = false };
                await using var intruder = new NpgsqlConnection(wrongPassword.ConnectionString);
                var refused = await Assert.ThrowsAsync<PostgresException>(() => intruder.OpenAsync());
                Assert.Equal("28P01", refused.SqlState); // invalid_password
            }

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "password")));
            Assert.False(File.Exists(Path.Combine(folder, "data", "postmaster.pid")), "the server should have stopped on dispose");

            await using var second = await LocalPostgres.StartAsync(options, NullLogger.Instance, CancellationToken.None);
            await using var again = NpgsqlDataSource.Create(second.ConnectionString);
            await using var read = again.CreateCommand("SELECT v FROM kept");
            Assert.Equal("still here", await read.ExecuteScalarAsync());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            TestPrefix.Retire(owner);
        }
    }
}
