using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Wrenn.Guest.Protocol.Connect;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Tests;

/// <summary>The agent's Filesystem service, against the published agent binary running on the host.</summary>
public sealed class AgentFilesystemTests(AgentProcessFixture agent) : IClassFixture<AgentProcessFixture>, IDisposable
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("wt-agentfs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_file_of_several_chunks_round_trips_byte_for_byte()
    {
        using var client = agent.NewClient();
        var content = RandomNumberGenerator.GetBytes(5 * 1024 * 1024 + 123);
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

        var notEmpty = await Assert.ThrowsAsync<ConnectException>(() => client.RemoveAsync(Path.Combine(_dir, "c"), recursive: false, Ct));
        Assert.Equal(ConnectCode.FailedPrecondition, notEmpty.Code);
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
        Assert.Equal(ConnectCode.NotFound, (await Assert.ThrowsAsync<ConnectException>(() => client.StatAsync(missing, Ct))).Code);
        Assert.Equal(ConnectCode.NotFound, (await Assert.ThrowsAsync<ConnectException>(() => client.ReadAllBytesAsync(missing, Ct))).Code);
        Assert.Equal(ConnectCode.NotFound, (await Assert.ThrowsAsync<ConnectException>(() => client.RemoveAsync(missing, false, Ct))).Code);
    }

    [Fact]
    public async Task A_relative_path_is_an_invalid_argument()
    {
        using var client = agent.NewClient();
        var error = await Assert.ThrowsAsync<ConnectException>(() => client.StatAsync("relative/path", Ct));
        Assert.Equal(ConnectCode.InvalidArgument, error.Code);
        Assert.Contains("absolute", error.Message);
    }

    [Fact]
    public async Task A_malformed_body_is_an_invalid_argument_with_a_connect_error()
    {
        using var http = new HttpClient();
        using var content = new ByteArrayContent([0xff, 0xff, 0xff, 0x01]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var response = await http.PostAsync(new Uri(agent.BaseAddress, "wrenn.guest.v1.FilesystemService/Stat"), content, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = ConnectCodec.ParseError(await response.Content.ReadAsByteArrayAsync(Ct), 400);
        Assert.Equal(ConnectCode.InvalidArgument, error.Code);
    }

    [Fact]
    public async Task An_unknown_content_type_is_refused_with_415()
    {
        using var http = new HttpClient();
        using var content = new StringContent("{}");
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        using var response = await http.PostAsync(new Uri(agent.BaseAddress, "wrenn.guest.v1.SystemService/Health"), content, Ct);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task Health_reports_the_agent_and_json_works_as_well_as_proto()
    {
        using var json = new Wrenn.Guest.Protocol.AgentClient(agent.BaseAddress, ConnectCodec.Json);
        var health = await json.HealthAsync(Ct);
        Assert.False(string.IsNullOrEmpty(health.Version));
        var result = await json.ExecAsync("echo", ["via json"], Ct);
        Assert.Equal("via json\n", result.StdoutText);
    }

    [Fact]
    public async Task Moving_onto_an_existing_file_needs_overwrite()
    {
        using var client = agent.NewClient();
        var source = Path.Combine(_dir, "from.txt");
        var target = Path.Combine(_dir, "to.txt");
        await File.WriteAllTextAsync(source, "new", Ct);
        await File.WriteAllTextAsync(target, "old", Ct);
        var error = await Assert.ThrowsAsync<ConnectException>(() => client.MoveAsync(source, target, overwrite: false, Ct));
        Assert.Equal(ConnectCode.AlreadyExists, error.Code);
        Assert.Equal("old", await File.ReadAllTextAsync(target, Ct));

        await client.MoveAsync(source, target, overwrite: true, Ct);
        Assert.Equal("new", await File.ReadAllTextAsync(target, Ct));
        Assert.False(File.Exists(source));
    }

    [Fact]
    public async Task Making_a_folder_without_parents_needs_its_parent()
    {
        using var client = agent.NewClient();
        var error = await Assert.ThrowsAsync<ConnectException>(() => client.MakeDirAsync(Path.Combine(_dir, "x", "y"), parents: false, Ct));
        Assert.Equal(ConnectCode.NotFound, error.Code);
        Assert.False(Directory.Exists(Path.Combine(_dir, "x")));
    }

    [Fact]
    public async Task A_write_past_the_end_of_the_file_is_out_of_range()
    {
        using var client = agent.NewClient();
        var path = Path.Combine(_dir, "gap.bin");
        await File.WriteAllBytesAsync(path, new byte[10], Ct);
        var http = new ConnectClient(new HttpClient(), agent.BaseAddress);
        var error = await Assert.ThrowsAsync<ConnectException>(() => http.UnaryAsync(Wrenn.Guest.Protocol.AgentEndpoint.Filesystem.Write,
            new WriteRequest { Path = path, Data = Google.Protobuf.ByteString.CopyFromUtf8("x"), Offset = 20 }, EntryInfo.Parser, null, Ct));
        Assert.Equal(ConnectCode.OutOfRange, error.Code);
        Assert.Equal(10, new FileInfo(path).Length);
    }

    [Fact]
    public async Task Reading_a_folder_is_a_failed_precondition()
    {
        using var client = agent.NewClient();
        var error = await Assert.ThrowsAsync<ConnectException>(() => client.ReadAllBytesAsync(_dir, Ct));
        Assert.Equal(ConnectCode.FailedPrecondition, error.Code);
    }
}
