using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.Silo.Data;

/// <summary>
/// Where a template's files are: an image folder (kernel, initrd, rootfs, manifest.json); for a
/// snapshot template also the frozen disk, memory and device state, which live on one host.
/// </summary>
/// <param name="ParentTemplateId">The snapshot template the source sandbox was started from: this template's disk may be layered on its files.</param>
/// <summary>Where a template's files are; <see cref="Network"/>: the egress policy of the sandbox it was made from, which its sandboxes take unless they give their own.</summary>
public sealed record TemplateSource(string? ImageDir = null, string? SnapshotDir = null, string? Host = null, Wrenn.Silo.Sandboxes.TemplateSnapshot? Snapshot = null, string? ParentTemplateId = null,
    NetworkPolicy? Network = null);

public sealed record TemplateRow(string Id, string Name, string? TeamId, bool IsPublic, TemplateKind Kind, int Vcpus, int MemoryMib, TemplateSource Source, DateTimeOffset CreatedAt);

/// <summary>Templates by name: a name resolves in the caller's team first, then among public templates.</summary>
public sealed class TemplateCatalog(NpgsqlDataSource dataSource)
{
    public const string BaseName = "base";

    private const string Columns = "id, name, team_id, is_public, kind, vcpus, memory_mib, source, created_at";

    public async Task<TemplateRow?> ResolveAsync(Caller caller, string nameOrId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {Columns} FROM wrenn_templates
            WHERE deleted_at IS NULL AND (name = $1 OR id = $1) AND (team_id = $2 OR is_public OR $3)
            ORDER BY (team_id = $2) DESC NULLS LAST LIMIT 1
            """);
        command.Parameters.Add(new() { Value = nameOrId });
        command.Parameters.Add(new() { Value = caller.TeamId });
        command.Parameters.Add(new() { Value = caller.IsSystem });
        return await ReadOneAsync(command, cancellationToken);
    }

    public async Task<TemplateRow?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM wrenn_templates WHERE id = $1 AND deleted_at IS NULL");
        command.Parameters.Add(new() { Value = id });
        return await ReadOneAsync(command, cancellationToken);
    }

    /// <summary>The team's templates and the public ones.</summary>
    public async Task<IReadOnlyList<TemplateRow>> ListAsync(Caller caller, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM wrenn_templates WHERE deleted_at IS NULL AND (team_id = $1 OR is_public) ORDER BY name");
        command.Parameters.Add(new() { Value = caller.TeamId });
        var rows = new List<TemplateRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(Read(reader));
        return rows;
    }

    public async Task<TemplateRow> AddAsync(string? teamId, string name, bool isPublic, TemplateKind kind, int vcpus, int memoryMib, TemplateSource source, CancellationToken cancellationToken)
    {
        var id = $"tpl-{Guid.NewGuid():D}";
        await using var command = dataSource.CreateCommand("""
            INSERT INTO wrenn_templates (id, team_id, name, is_public, kind, vcpus, memory_mib, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            RETURNING created_at
            """);
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = (object?)teamId ?? DBNull.Value });
        command.Parameters.Add(new() { Value = name });
        command.Parameters.Add(new() { Value = isPublic });
        command.Parameters.Add(new() { Value = kind.ToString().ToLowerInvariant() });
        command.Parameters.Add(new() { Value = vcpus });
        command.Parameters.Add(new() { Value = memoryMib });
        command.Parameters.Add(new() { Value = JsonSerializer.Serialize(source, WrennJson.Options), NpgsqlDbType = NpgsqlDbType.Jsonb });
        try
        {
            var created = (DateTime)(await command.ExecuteScalarAsync(cancellationToken))!;
            return new TemplateRow(id, name, teamId, isPublic, kind, vcpus, memoryMib, source, created);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new Wrenn.Grains.Errors.GrainException(Wrenn.Grains.Errors.ErrorCodes.AlreadyExists, $"A template named '{name}' already exists{(teamId is null ? " among public templates" : " in your team")}; pick another name.");
        }
    }

    /// <summary>
    /// What still uses the template: sandboxes (creating, running or paused) started from it, and
    /// live templates made from those (their disks may be layered on its files).
    /// </summary>
    public async Task<int> UsersAsync(string templateId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT (SELECT count(*) FROM wrenn_sandboxes WHERE template_id = $1 AND state IN ('Creating', 'Running', 'Paused'))
                 + (SELECT count(*) FROM wrenn_templates WHERE deleted_at IS NULL AND source->>'parentTemplateId' = $1)
            """);
        command.Parameters.Add(new() { Value = templateId });
        return (int)(long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The snapshot folders of this host's live templates (the reconciler keeps these).</summary>
    public Task<IReadOnlyList<string>> SnapshotDirsOnAsync(string host, CancellationToken cancellationToken) =>
        TextsOnAsync("SELECT source->>'snapshotDir' FROM wrenn_templates WHERE deleted_at IS NULL AND source->>'host' = $1 AND source->>'snapshotDir' IS NOT NULL", host, cancellationToken);

    /// <summary>The sources of this host's live templates, as stored (what their files are layered on).</summary>
    public Task<IReadOnlyList<string>> SourcesOnAsync(string host, CancellationToken cancellationToken) =>
        TextsOnAsync("SELECT source::text FROM wrenn_templates WHERE deleted_at IS NULL AND source->>'host' = $1", host, cancellationToken);

    /// <summary>The one text column <paramref name="sql"/> selects for a host.</summary>
    private async Task<IReadOnlyList<string>> TextsOnAsync(string sql, string host, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new() { Value = host });
        var texts = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            texts.Add(reader.GetString(0));
        return texts;
    }

    public async Task MarkDeletedAsync(string templateId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("UPDATE wrenn_templates SET deleted_at = now() WHERE id = $1");
        command.Parameters.Add(new() { Value = templateId });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Points the public <c>base</c> template at the current guest image (the image is rebuilt by setup when its inputs change).</summary>
    public async Task<TemplateRow> EnsureBaseAsync(string imageDir, int vcpus, int memoryMib, CancellationToken cancellationToken)
    {
        await using var existing = dataSource.CreateCommand($"SELECT {Columns} FROM wrenn_templates WHERE team_id IS NULL AND name = $1 AND deleted_at IS NULL");
        existing.Parameters.Add(new() { Value = BaseName });
        if (await ReadOneAsync(existing, cancellationToken) is { } found)
        {
            await using var update = dataSource.CreateCommand("UPDATE wrenn_templates SET source = $2 WHERE id = $1");
            update.Parameters.Add(new() { Value = found.Id });
            update.Parameters.Add(new() { Value = JsonSerializer.Serialize(new TemplateSource(ImageDir: imageDir), WrennJson.Options), NpgsqlDbType = NpgsqlDbType.Jsonb });
            await update.ExecuteNonQueryAsync(cancellationToken);
            return found with { Source = new TemplateSource(ImageDir: imageDir) };
        }
        return await AddAsync(null, BaseName, isPublic: true, TemplateKind.Image, vcpus, memoryMib, new TemplateSource(ImageDir: imageDir), cancellationToken);
    }

    private static async Task<TemplateRow?> ReadOneAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static TemplateRow Read(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetBoolean(3),
        Enum.Parse<TemplateKind>(reader.GetString(4), ignoreCase: true), reader.GetInt32(5), reader.GetInt32(6),
        JsonSerializer.Deserialize<TemplateSource>(reader.GetString(7), WrennJson.Options)!, reader.GetDateTime(8));
}
