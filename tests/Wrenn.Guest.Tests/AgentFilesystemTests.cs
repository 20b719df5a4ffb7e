using System.Security.Cryptography;
using Grpc.Core;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Tests;

/// <summary>The agent's Filesystem service, against the published agent binary running on the host.</summary>
public sealed class AgentFilesystemTests(AgentProcessFixture agent) : IClassFixture<AgentProcessFixture>, IDisposable
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("wt-agentfs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_large_file_is_written_in_one_client_stream_and_read_back_in_a_server_stream()
    {
        using var client = agent.NewClient();
        var content = RandomNumberGenerator.GetBytes(20 * 1024 * 1024 + 123);
        // 20 MiB: more than one message may hold (16 MiB), so both directions must stream.
        var path = Path.Combine(_dir, "sub", "big.bin");
        var info = await client.WriteAllBytesAsync(path, content, Ct);
        Assert.Equal(content.Length, info.Size);
        Assert.Equal(EntryType.File, info.Type);
        Assert.Equal(content, await File.ReadAllBytesAsync(path, Ct));
        Assert.Equal(content, await client.ReadAllBytesAsync(path, Ct));
    }

    [Fact]
    public async Task An_empty_file_can_be_written_and_read()
    {
        using var client = agent.NewClient();
        var path = Path.Combine(_dir, "empty");
        await client.WriteAllBytesAsync(path, [], Ct);
        Assert.Empty(await client.ReadAllBytesAsync(path, Ct));
    }

    [Fact]
    public async Task Directories_can_be_made_listed_moved_and_removed()
    {
        using var client = agent.NewClient();
        var made = await client.MakeDirAsync(Path.Combine(_dir, "a", "b"), parents: true, Ct);
        Assert.Equal(EntryType.Directory, made.Type);
        await client.WriteAllBytesAsync(Path.Combine(_dir, "a", "b", "f.txt"), "x"u8.ToArray(), Ct);
        var listing = await client.ListAsync(Path.Combine(_dir, "a", "b"), Ct);
        Assert.Equal("f.txt", Assert.Single(listing).Name);

        var moved = await client.MoveAsync(Path.Combine(_dir, "a"), Path.Combine(_dir, "c"), overwrite: false, Ct);
        Assert.Equal(Path.Combine(_dir, "c"), moved.Path);
        Assert.True(File.Exists(Path.Combine(_dir, "c", "b", "f.txt")));

        var notEmpty = await Assert.ThrowsAsync<AgentException>(() => client.RemoveAsync(Path.Combine(_dir, "c"), recursive: false, Ct));
        Assert.Equal(StatusCode.FailedPrecondition, notEmpty.Code);
        await client.RemoveAsync(Path.Combine(_dir, "c"), recursive: true, Ct);
        Assert.False(Directory.Exists(Path.Combine(_dir, "c")));
    }

    [Fact]
    public async Task Stat_reports_size_and_type()
    {
        using var client = agent.NewClient();
        var path = Path.Combine(_dir, "s.txt");
        await File.WriteAllTextAsync(path, "12345", Ct);
        var info = await client.StatAsync(path, Ct);
        Assert.Equal(5, info.Size);
        Assert.Equal("s.txt", info.Name);
        Assert.Equal(EntryType.File, info.Type);
    }

    [Fact]
    public async Task A_missing_file_is_not_found()
    {
        using var client = agent.NewClient();
        var missing = Path.Combine(_dir, "missing");
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<AgentException>(() => client.StatAsync(missing, Ct))).Code);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<AgentException>(() => client.ReadAllBytesAsync(missing, Ct))).Code);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<AgentException>(() => client.RemoveAsync(missing, false, Ct))).Code);
    }

    [Fact]
    public async Task A_relative_path_is_an_invalid_argument()
    {
        using var client = agent.NewClient();
        var error = await Assert.ThrowsAsync<AgentException>(() => client.StatAsync("relative/path", Ct));
        Assert.Equal(StatusCode.InvalidArgument, error.Code);
        Assert.Contains("absolute", error.Message);
    }

    [Fact]
    public async Task Moving_onto_an_existing_file_needs_overwrite()
    {
        using var client = agent.NewClient();
        var source = Path.Combine(_dir, "from.txt");
        var target = Path.Combine(_dir, "to.txt");
        await File.WriteAllTextAsync(source, "new", Ct);
        await File.WriteAllTextAsync(target, "old", Ct);
        var error = await Assert.ThrowsAsync<AgentException>(() => client.MoveAsync(source, target, overwrite: false, Ct));
        Assert.Equal(StatusCode.AlreadyExists, error.Code);
        Assert.Equal("old", await File.ReadAllTextAsync(target, Ct));

        await client.MoveAsync(source, target, overwrite: true, Ct);
        Assert.Equal("new", await File.ReadAllTextAsync(target, Ct));
        Assert.False(File.Exists(source));
    }

    [Fact]
    public async Task Making_a_folder_without_parents_needs_its_parent()
    {
        using var client = agent.NewClient();
        var error = await Assert.ThrowsAsync<AgentException>(() => client.MakeDirAsync(Path.Combine(_dir, "x", "y"), parents: false, Ct));
        Assert.Equal(StatusCode.NotFound, error.Code);
        Assert.False(Directory.Exists(Path.Combine(_dir, "x")));
    }

    [Fact]
    public async Task A_write_past_the_end_of_the_file_is_out_of_range()
    {
        using var client = agent.NewClient();
        var path = Path.Combine(_dir, "gap.bin");
        await File.WriteAllBytesAsync(path, new byte[10], Ct);
        var error = await Assert.ThrowsAsync<AgentException>(() => client.WriteChunkAsync(path, 20, "x"u8.ToArray(), truncate: false, Ct));
        Assert.Equal(StatusCode.OutOfRange, error.Code);
        Assert.Equal(10, new FileInfo(path).Length);
    }

    [Fact]
    public async Task Chunks_written_one_call_each_at_their_offsets_make_the_file()
    {
        using var client = agent.NewClient();
        var path = Path.Combine(_dir, "chunks.bin");
        var content = RandomNumberGenerator.GetBytes(3 * 1000);
        await client.WriteChunkAsync(path, 0, content.AsMemory(0, 1000), truncate: true, Ct);
        await client.WriteChunkAsync(path, 1000, content.AsMemory(1000, 1000), truncate: false, Ct);
        var info = await client.WriteChunkAsync(path, 2000, content.AsMemory(2000, 1000), truncate: false, Ct);
        Assert.Equal(3000, info.Size);
        Assert.Equal(content, await File.ReadAllBytesAsync(path, Ct));
    }

    [Fact]
    public async Task A_streamed_write_that_the_agent_refuses_fails_with_its_code_and_writes_nothing()
    {
        using var client = agent.NewClient();
        // A folder where the file should be: the first message is refused while later chunks are still going out.
        var error = await Assert.ThrowsAsync<AgentException>(() => client.WriteAllBytesAsync(_dir, new byte[3 * AgentClient.FileChunkBytes], Ct));
        Assert.Equal(StatusCode.FailedPrecondition, error.Code);
        Assert.True(Directory.Exists(_dir));
    }

    [Fact]
    public async Task Stat_of_a_folder_and_a_symlink_names_their_types()
    {
        using var client = agent.NewClient();
        var link = Path.Combine(_dir, "link");
        File.CreateSymbolicLink(link, "/etc/hostname");
        Assert.Equal(EntryType.Directory, (await client.StatAsync(_dir, Ct)).Type);
        var info = await client.StatAsync(link, Ct);
        Assert.Equal(EntryType.Symlink, info.Type);
        Assert.Equal("/etc/hostname", info.SymlinkTarget);
    }

    [Fact]
    public async Task Removing_a_symlink_to_a_folder_removes_the_link_only()
    {
        using var client = agent.NewClient();
        var target = Directory.CreateDirectory(Path.Combine(_dir, "target")).FullName;
        await File.WriteAllTextAsync(Path.Combine(target, "kept"), "x", Ct);
        var link = Path.Combine(_dir, "link-to-folder");
        Directory.CreateSymbolicLink(link, target);
        await client.RemoveAsync(link, recursive: true, Ct);
        Assert.False(Path.Exists(link));
        Assert.True(File.Exists(Path.Combine(target, "kept")));
    }

    [Fact]
    public async Task A_file_is_removed_and_a_folder_made_where_it_was()
    {
        using var client = agent.NewClient();
        var path = Path.Combine(_dir, "f");
        await File.WriteAllTextAsync(path, "x", Ct);
        Assert.Equal(StatusCode.AlreadyExists, (await Assert.ThrowsAsync<AgentException>(() => client.MakeDirAsync(path, parents: false, Ct))).Code);
        await client.RemoveAsync(path, recursive: false, Ct);
        var made = await client.MakeDirAsync(path, parents: false, Ct);
        Assert.Equal(EntryType.Directory, made.Type);
        Assert.Equal(path, made.Path);
    }

    [Fact]
    public async Task Moving_a_folder_onto_an_existing_one_needs_overwrite()
    {
        using var client = agent.NewClient();
        var source = Directory.CreateDirectory(Path.Combine(_dir, "src")).FullName;
        var target = Directory.CreateDirectory(Path.Combine(_dir, "dst")).FullName;
        await File.WriteAllTextAsync(Path.Combine(source, "new"), "n", Ct);
        await File.WriteAllTextAsync(Path.Combine(target, "old"), "o", Ct);
        Assert.Equal(StatusCode.AlreadyExists, (await Assert.ThrowsAsync<AgentException>(() => client.MoveAsync(source, target, overwrite: false, Ct))).Code);
        Assert.True(File.Exists(Path.Combine(target, "old")));
        await client.MoveAsync(source, target, overwrite: true, Ct);
        Assert.True(File.Exists(Path.Combine(target, "new")));
        Assert.False(File.Exists(Path.Combine(target, "old")));
        Assert.False(Directory.Exists(source));
    }

    [Fact]
    public async Task Reading_a_folder_is_a_failed_precondition()
    {
        using var client = agent.NewClient();
        var error = await Assert.ThrowsAsync<AgentException>(() => client.ReadAllBytesAsync(_dir, Ct));
        Assert.Equal(StatusCode.FailedPrecondition, error.Code);
    }
}
