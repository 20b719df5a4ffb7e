using Grpc.Core;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Tests;

/// <summary>Directory watches (inotify in the agent), against the published agent binary running on the host.</summary>
public sealed class AgentWatchTests(AgentProcessFixture agent) : IClassFixture<AgentProcessFixture>, IDisposable
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("wt-agentwatch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_watch_reports_create_write_chmod_and_remove_with_absolute_paths()
    {
        using var client = agent.NewClient();
        using var watch = await client.WatchAsync(_dir, recursive: false, Ct);
        await using var events = watch.GetAsyncEnumerator(Ct);
        var file = Path.Combine(_dir, "a.txt");

        await File.WriteAllTextAsync(file, "x", Ct);
        Assert.Equal((FileEventType.Create, file, false), Seen(await NextAsync(events, e => e.Path == file)));
        Assert.Equal((FileEventType.Write, file, false), Seen(await NextAsync(events, e => e.Type == FileEventType.Write)));

        File.SetUnixFileMode(file, UnixFileMode.UserRead);
        Assert.Equal((FileEventType.Chmod, file, false), Seen(await NextAsync(events, e => e.Type == FileEventType.Chmod)));

        File.Delete(file);
        Assert.Equal((FileEventType.Remove, file, false), Seen(await NextAsync(events, e => e.Type == FileEventType.Remove)));

        var folder = Path.Combine(_dir, "sub");
        Directory.CreateDirectory(folder);
        Assert.Equal((FileEventType.Create, folder, true), Seen(await NextAsync(events, e => e.Path == folder)));
    }

    [Fact]
    public async Task A_rename_carries_the_old_path()
    {
        using var client = agent.NewClient();
        var from = Path.Combine(_dir, "old.txt");
        var to = Path.Combine(_dir, "new.txt");
        await File.WriteAllTextAsync(from, "x", Ct);
        using var watch = await client.WatchAsync(_dir, recursive: false, Ct);
        await using var events = watch.GetAsyncEnumerator(Ct);
        File.Move(from, to);
        var rename = await NextAsync(events, e => e.Type == FileEventType.Rename);
        Assert.Equal((to, from, false), (rename.Path, rename.OldPath, rename.IsDirectory));
    }

    [Fact]
    public async Task A_non_recursive_watch_does_not_see_inside_subfolders()
    {
        var sub = Directory.CreateDirectory(Path.Combine(_dir, "sub")).FullName;
        using var client = agent.NewClient();
        using var watch = await client.WatchAsync(_dir, recursive: false, Ct);
        await using var events = watch.GetAsyncEnumerator(Ct);
        await File.WriteAllTextAsync(Path.Combine(sub, "inner"), "x", Ct);
        var marker = Path.Combine(_dir, "marker");
        await File.WriteAllTextAsync(marker, "x", Ct);
        // Events arrive in order: everything before the marker's CREATE was seen first.
        var before = new List<FileEvent>();
        while (await events.MoveNextAsync() && events.Current.Path != marker)
            before.Add(events.Current);
        Assert.DoesNotContain(before, e => e.Path.StartsWith(sub + "/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_recursive_watch_follows_folders_made_before_and_after_it_started()
    {
        var existing = Directory.CreateDirectory(Path.Combine(_dir, "existing", "deep")).FullName;
        using var client = agent.NewClient();
        using var watch = await client.WatchAsync(_dir, recursive: true, Ct);
        await using var events = watch.GetAsyncEnumerator(Ct);

        var inExisting = Path.Combine(existing, "f1");
        await File.WriteAllTextAsync(inExisting, "x", Ct);
        Assert.Equal(FileEventType.Create, (await NextAsync(events, e => e.Path == inExisting)).Type);

        // A folder made after the watch started: its CREATE arrives once it is watched itself.
        var later = Path.Combine(_dir, "later");
        Directory.CreateDirectory(later);
        Assert.True((await NextAsync(events, e => e.Path == later && e.Type == FileEventType.Create)).IsDirectory);
        var inLater = Path.Combine(later, "f2");
        await File.WriteAllTextAsync(inLater, "x", Ct);
        Assert.Equal(FileEventType.Create, (await NextAsync(events, e => e.Path == inLater)).Type);

        // A tree made in one go (mkdir -p): what is in it is reported too.
        var tree = Path.Combine(_dir, "a", "b", "c");
        Directory.CreateDirectory(tree);
        await NextAsync(events, e => e.Path == tree && e.Type == FileEventType.Create);
        var inTree = Path.Combine(tree, "f3");
        await File.WriteAllTextAsync(inTree, "x", Ct);
        Assert.Equal(FileEventType.Create, (await NextAsync(events, e => e.Path == inTree)).Type);

        // A watched folder renamed: changes inside it carry the new name.
        var renamed = Path.Combine(_dir, "renamed");
        Directory.Move(later, renamed);
        var rename = await NextAsync(events, e => e.Type == FileEventType.Rename);
        Assert.Equal((renamed, later, true), (rename.Path, rename.OldPath, rename.IsDirectory));
        var inRenamed = Path.Combine(renamed, "f4");
        await File.WriteAllTextAsync(inRenamed, "x", Ct);
        Assert.Equal(FileEventType.Create, (await NextAsync(events, e => e.Path == inRenamed)).Type);
    }

    [Fact]
    public async Task A_missing_folder_is_not_found_and_a_file_is_a_failed_precondition()
    {
        using var client = agent.NewClient();
        var missing = await Assert.ThrowsAsync<AgentException>(() => client.WatchAsync(Path.Combine(_dir, "missing"), recursive: false, Ct));
        Assert.Equal(StatusCode.NotFound, missing.Code);
        Assert.Contains("does not exist", missing.Message);
        var file = Path.Combine(_dir, "plain");
        await File.WriteAllTextAsync(file, "x", Ct);
        Assert.Equal(StatusCode.FailedPrecondition, (await Assert.ThrowsAsync<AgentException>(() => client.WatchAsync(file, recursive: false, Ct))).Code);
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<AgentException>(() => client.WatchAsync("relative", recursive: false, Ct))).Code);
    }

    [Fact]
    public async Task Ending_the_watch_leaves_no_inotify_watch_in_the_agent()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "x", "y"));
        using var client = agent.NewClient();
        var baseline = InotifyWatches(agent.AgentPid);
        using (var watch = await client.WatchAsync(_dir, recursive: true, Ct))
        {
            // The root, x and x/y: three watches while it runs.
            Assert.Equal(baseline + 3, InotifyWatches(agent.AgentPid));
        }
        // The agent closes its inotify instance when it notices the call ended; poll for that, no speed bar.
        for (var i = 0; i < 100 && InotifyWatches(agent.AgentPid) != baseline; i++)
            await Task.Delay(50, Ct);
        Assert.Equal(baseline, InotifyWatches(agent.AgentPid));
    }

    [Fact]
    public async Task Removing_the_watched_folder_ends_the_watch_with_its_remove()
    {
        var root = Directory.CreateDirectory(Path.Combine(_dir, "doomed")).FullName;
        using var client = agent.NewClient();
        using var watch = await client.WatchAsync(root, recursive: false, Ct);
        Directory.Delete(root);
        var seen = new List<FileEvent>();
        await foreach (var e in watch.WithCancellation(Ct))
            seen.Add(e);
        Assert.Contains(seen, e => e is { Type: FileEventType.Remove, IsDirectory: true } && e.Path == root);
    }

    /// <summary>The inotify watches the agent holds: "inotify wd:" lines in /proc/PID/fdinfo.</summary>
    private static int InotifyWatches(int pid)
    {
        var count = 0;
        foreach (var fdinfo in Directory.EnumerateFiles($"/proc/{pid}/fdinfo"))
        {
            try
            {
                count += File.ReadLines(fdinfo).Count(l => l.StartsWith("inotify wd:", StringComparison.Ordinal));
            }
            catch (IOException)
            {
                // Closed while we looked.
            }
        }
        return count;
    }

    private static (FileEventType, string, bool) Seen(FileEvent e) => (e.Type, e.Path, e.IsDirectory);

    private static async Task<FileEvent> NextAsync(IAsyncEnumerator<FileEvent> events, Func<FileEvent, bool> match)
    {
        while (await events.MoveNextAsync())
        {
            if (match(events.Current))
                return events.Current;
        }
        throw new InvalidOperationException("The watch ended before the expected event.");
    }
}
