using Microsoft.Extensions.Logging;

namespace Wrenn.Silo.Sandboxes;

/// <summary>
/// Pairs every acquisition of a multi-step operation with its undo. Steps push their undo as they
/// succeed; if a later step fails, <see cref="UndoAllAsync"/> runs the undos newest first, so a
/// failed create leaves no netns, disk or process behind. Once the operation has succeeded,
/// <see cref="Commit"/> forgets them.
/// </summary>
public sealed class UndoStack(ILogger logger)
{
    private readonly Stack<(string What, Func<Task> Undo)> _undos = new();

    /// <summary>Records how to undo a step that just succeeded.</summary>
    public void Push(string what, Func<Task> undo)
    {
        lock (_undos)
            _undos.Push((what, undo));
    }

    /// <summary>
    /// Runs one acquisition and records its undo once it succeeded. Independent acquisitions may
    /// run at once (await them together with <see cref="Task.WhenAll(Task[])"/>, which ends only
    /// when all have, so every success is recorded before a failure reaches the caller).
    /// </summary>
    public async Task<T> AcquireAsync<T>(string undoWhat, Func<Task<T>> acquire, Func<T, Task> undo)
    {
        var acquired = await acquire();
        Push(undoWhat, () => undo(acquired));
        return acquired;
    }

    /// <summary>The operation succeeded: nothing is undone.</summary>
    public void Commit()
    {
        lock (_undos)
            _undos.Clear();
    }

    /// <summary>
    /// Undoes every recorded step, newest first. An undo that fails is logged and the rest still
    /// run: the reconciler repairs what is left, and the caller sees the original failure.
    /// </summary>
    public async Task UndoAllAsync()
    {
        while (TryPop(out var step))
        {
            try
            {
                await step.Undo();
            }
            catch (Exception e)
            {
                UndoLog.UndoFailed(logger, step.What, e);
            }
        }
    }

    private bool TryPop(out (string What, Func<Task> Undo) step)
    {
        lock (_undos)
            return _undos.TryPop(out step);
    }
}

internal static partial class UndoLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not undo '{What}' after a failed operation; the reconciler will remove what is left")]
    public static partial void UndoFailed(ILogger logger, string what, Exception exception);
}
