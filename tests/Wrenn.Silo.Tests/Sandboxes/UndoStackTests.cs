using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Silo.Sandboxes;

namespace Wrenn.Silo.Tests.Sandboxes;

/// <summary>
/// A create or restore prepares its network, disk and memory at once through
/// <see cref="UndoStack.AcquireAsync{T}"/>: when one of them fails, the others, finished or not,
/// must still be undone.
/// </summary>
public sealed class UndoStackTests
{
    [Fact]
    public async Task When_one_of_concurrent_acquisitions_fails_every_other_one_is_undone_including_one_that_finished_later()
    {
        var undo = new UndoStack(NullLogger.Instance);
        var undone = new List<string>();
        var slow = new TaskCompletionSource<string>();

        var network = undo.AcquireAsync("release the slot", () => Task.FromResult("slot"), s => Record(undone, s));
        var disk = undo.AcquireAsync("remove the disk", () => slow.Task, d => Record(undone, d));
        var memory = undo.AcquireAsync<string>("free the memory", () => throw new IOException("no memory file"), m => Record(undone, m));
        var all = Task.WhenAll(network, disk, memory);
        Assert.False(all.IsCompleted); // the disk is still being prepared: the failure waits for it
        slow.SetResult("disk");

        var failure = await Assert.ThrowsAsync<IOException>(() => all);
        Assert.Equal("no memory file", failure.Message);
        await undo.UndoAllAsync();
        Assert.Equal(["disk", "slot"], undone); // newest first; the failed one had nothing to undo
    }

    [Fact]
    public async Task A_committed_stack_undoes_nothing()
    {
        var undo = new UndoStack(NullLogger.Instance);
        var undone = new List<string>();
        await undo.AcquireAsync("release the slot", () => Task.FromResult("slot"), s => Record(undone, s));
        undo.Commit();
        await undo.UndoAllAsync();
        Assert.Empty(undone);
    }

    private static Task Record(List<string> undone, string what)
    {
        lock (undone)
            undone.Add(what);
        return Task.CompletedTask;
    }
}
