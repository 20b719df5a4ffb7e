using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Wrenn.Silo.Runtime.Grains;

namespace Wrenn.Silo.Runtime.State;

/// <summary>Reads and writes grain state rows (JSON with an etag) in PostgreSQL.</summary>
internal sealed class StateStore(NpgsqlDataSource dataSource, JsonSerializerOptions json)
{
    private NpgsqlDataSource DataSource => dataSource;

    private JsonSerializerOptions Json => json;

    public async Task<IPersistentState<T>> ReadAsync<T>(GrainId grain, string name, CancellationToken cancellationToken) where T : new()
    {
        var state = new PersistentState<T>(this, grain.ToString(), name);
        await state.ReadAsync(cancellationToken);
        return state;
    }

    private sealed class PersistentState<T>(StateStore store, string grain, string name) : IPersistentState<T> where T : new()
    {
        public T State { get; set; } = new();

        public long? Etag { get; private set; }

        public bool RecordExists => Etag is not null;

        public async Task ReadAsync(CancellationToken cancellationToken)
        {
            await using var command = store.DataSource.CreateCommand("SELECT etag, data FROM wrenn_grain_state WHERE grain_id = $1 AND name = $2");
            command.Parameters.Add(new() { Value = grain });
            command.Parameters.Add(new() { Value = name });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                Etag = reader.GetInt64(0);
                State = JsonSerializer.Deserialize<T>(reader.GetString(1), store.Json) ?? new T();
            }
            else
            {
                Etag = null;
                State = new T();
            }
        }

        public async Task WriteAsync(CancellationToken cancellationToken)
        {
            var data = JsonSerializer.Serialize(State, store.Json);
            var sql = Etag is null
                ? "INSERT INTO wrenn_grain_state (grain_id, name, etag, data) VALUES ($1, $2, 1, $3) ON CONFLICT DO NOTHING RETURNING etag"
                : "UPDATE wrenn_grain_state SET etag = etag + 1, data = $3, updated_at = now() WHERE grain_id = $1 AND name = $2 AND etag = $4 RETURNING etag";
            await using var command = store.DataSource.CreateCommand(sql);
            command.Parameters.Add(new() { Value = grain });
            command.Parameters.Add(new() { Value = name });
            command.Parameters.Add(new() { Value = data, NpgsqlDbType = NpgsqlDbType.Jsonb });
            if (Etag is not null)
                command.Parameters.Add(new() { Value = Etag.Value });
            var written = await command.ExecuteScalarAsync(cancellationToken);
            Etag = written is long etag
                ? etag
                : throw new InconsistentStateException(grain, name, Etag, Etag is null ? "a record was created" : "the record was written or deleted");
        }

        public async Task ClearAsync(CancellationToken cancellationToken)
        {
            if (Etag is not null)
            {
                await using var command = store.DataSource.CreateCommand("DELETE FROM wrenn_grain_state WHERE grain_id = $1 AND name = $2 AND etag = $3");
                command.Parameters.Add(new() { Value = grain });
                command.Parameters.Add(new() { Value = name });
                command.Parameters.Add(new() { Value = Etag.Value });
                if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
                    throw new InconsistentStateException(grain, name, Etag, "the record was written or deleted");
            }
            Etag = null;
            State = new T();
        }
    }
}
