using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Wrenn.Silo.Persistence.Migrations;
using Wrenn.Testing.Postgres;

namespace Wrenn.Silo.Tests.Persistence;

/// <summary>Schema migrations against a real PostgreSQL (started by the tests).</summary>
public sealed class SchemaMigratorTests
{
    private static readonly Migration[] Steps =
    [
        new("demo", 1, "create_things", "CREATE TABLE things (id int PRIMARY KEY, name text NOT NULL)"),
        new("demo", 2, "add_colour", "ALTER TABLE things ADD COLUMN colour text"),
    ];

    [Fact]
    public async Task Each_step_is_applied_once_and_a_second_start_applies_nothing()
    {
        await using var data = NpgsqlDataSource.Create(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("migr-once"));
        var migrator = new SchemaMigrator(data, NullLogger<SchemaMigrator>.Instance);

        Assert.Equal(2, await migrator.ApplyAsync(Steps, CancellationToken.None));
        Assert.Equal(0, await migrator.ApplyAsync(Steps, CancellationToken.None));

        await using var insert = data.CreateCommand("INSERT INTO things (id, name, colour) VALUES (1, 'a', 'red')");
        Assert.Equal(1, await insert.ExecuteNonQueryAsync());
    }

    [Fact]
    public async Task Silos_starting_together_apply_each_step_exactly_once()
    {
        await using var data = NpgsqlDataSource.Create(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("migr-race"));
        var applied = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ =>
            Task.Run(() => new SchemaMigrator(data, NullLogger<SchemaMigrator>.Instance).ApplyAsync(Steps, CancellationToken.None))));

        Assert.Equal(2, applied.Sum());
    }

    [Fact]
    public async Task An_applied_step_that_was_edited_is_refused_by_name()
    {
        await using var data = NpgsqlDataSource.Create(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("migr-edit"));
        var migrator = new SchemaMigrator(data, NullLogger<SchemaMigrator>.Instance);
        await migrator.ApplyAsync(Steps, CancellationToken.None);

        Migration[] edited = [Steps[0] with { Sql = "CREATE TABLE things (id bigint PRIMARY KEY)" }, Steps[1]];
        var error = await Assert.ThrowsAsync<SchemaMigrationException>(() => migrator.ApplyAsync(edited, CancellationToken.None));
        Assert.Contains("demo V1 (create_things) was changed", error.Message);
    }

    [Fact]
    public async Task A_failing_step_rolls_back_and_leaves_the_earlier_steps()
    {
        await using var data = NpgsqlDataSource.Create(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("migr-fail"));
        var migrator = new SchemaMigrator(data, NullLogger<SchemaMigrator>.Instance);
        Migration[] broken = [Steps[0], new("demo", 2, "half_done", "CREATE TABLE half (id int); SELECT no_such_function()")];

        var error = await Assert.ThrowsAsync<SchemaMigrationException>(() => migrator.ApplyAsync(broken, CancellationToken.None));
        Assert.Contains("demo V2 (half_done) failed", error.Message);

        await using var half = data.CreateCommand("SELECT to_regclass('half') IS NULL AND to_regclass('things') IS NOT NULL");
        Assert.True((bool)(await half.ExecuteScalarAsync())!);
        Assert.Equal(1, await migrator.ApplyAsync(Steps, CancellationToken.None));
    }
}
