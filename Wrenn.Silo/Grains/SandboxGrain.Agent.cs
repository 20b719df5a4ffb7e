using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Guest.Protocol;

namespace Wrenn.Silo.Grains;

/// <summary>
/// How the grain's calls reach the guest agent: a call in a shared turn (never alongside a
/// transition; destroy cancels it), or a stream that holds no turn once it is open (attached output,
/// directory watch), which a pause or destroy ends instead of waiting for it.
/// </summary>
public sealed partial class SandboxGrain
{
    /// <summary>Events buffered between the agent and a stream's consumer (the engine pulls one batch at a time).</summary>
    private const int StreamBuffer = 256;

    private AgentClient RunningAgent(Caller caller)
    {
        var record = Visible(caller);
        if (record.State != SandboxState.Running || _agent is null)
            throw NotRunning(record);
        return _legacyAgent is null ? _agent : throw new GrainException(ErrorCodes.FailedPrecondition, _legacyAgent.Message);
    }

    /// <summary>
    /// One agent call in a shared turn (a paused sandbox with autoResume woken first). <paramref name="call"/>
    /// may check its arguments first (after the caller's team is checked); the agent's failures become
    /// <paramref name="failed"/>'s errors.
    /// </summary>
    private async Task<T> CallAgentAsync<T>(Caller caller, string what, Func<AgentClient, CancellationToken, Task<T>> call,
        Func<AgentException, GrainException> failed, CancellationToken cancellationToken)
    {
        using var busy = Busy();
        using var turn = await EnterForVmAsync(caller, cancellationToken);
        var agent = RunningAgent(caller);
        try
        {
            return await call(agent, turn.Token);
        }
        catch (Exception e) when (e is AgentException or OperationCanceledException)
        {
            throw turn.CancelledByGate ? new GrainException(ErrorCodes.Cancelled, $"{what} was cancelled: sandbox {Id} was destroyed meanwhile.")
                : turn.Token.IsCancellationRequested ? new GrainException(ErrorCodes.Cancelled, $"{what} was cancelled.")
                : e is AgentException agentFailure ? failed(agentFailure)
                : new GrainException(ErrorCodes.Unavailable, $"{what}: sandbox {Id}'s agent did not answer ({e.Message}).");
        }
    }

    private Task CallAgentAsync(Caller caller, string what, Func<AgentClient, CancellationToken, Task> call,
        Func<AgentException, GrainException> failed, CancellationToken cancellationToken) =>
        CallAgentAsync(caller, what, async (agent, token) =>
        {
            await call(agent, token);
            return true;
        }, failed, cancellationToken);

    /// <summary>
    /// A stream from the agent that holds no turn. It is opened in a shared turn (so only on a running
    /// sandbox, never alongside a transition), then read outside it through a bounded channel until the
    /// agent ends it, the caller stops reading, or this activation stops driving the VM (pause,
    /// template, destroy): then it completes. Items <paramref name="map"/> returns null for are skipped.
    /// </summary>
    private async IAsyncEnumerable<TOut> DetachedStreamAsync<TIn, TOut>(Caller caller,
        Func<AgentClient, CancellationToken, Task<IAsyncEnumerable<TIn>>> open, Func<TIn, TOut?> map,
        Func<AgentException, GrainException> failed, [EnumeratorCancellation] CancellationToken cancellationToken)
        where TOut : class
    {
        // Open, the stream is a user's call that keeps the sandbox from idling (a processOutput or watchDir subscription).
        using var busy = Busy();
        CancellationTokenSource lifetime;
        IAsyncEnumerable<TIn>? source = null;
        using (var turn = await EnterForVmAsync(caller, cancellationToken))
        {
            var agent = RunningAgent(caller);
            // The turn's token too, while it lasts: a destroy that cancels shared turns stops an opening that hangs.
            lifetime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _attached!.Token, turn.Token);
            try
            {
                source = await open(agent, lifetime.Token);
            }
            catch (AgentException e) when (!lifetime.IsCancellationRequested)
            {
                lifetime.Dispose();
                throw failed(e);
            }
            catch (Exception e) when (e is AgentException or OperationCanceledException)
            {
                // Paused, destroyed or given up while it opened: source stays null and the stream ends.
            }
            catch
            {
                lifetime.Dispose();
                throw;
            }
        }
        if (source is null)
        {
            lifetime.Dispose();
            yield break;
        }

        var items = Channel.CreateBounded<TOut>(new BoundedChannelOptions(StreamBuffer) { SingleReader = true, SingleWriter = true });
        var pump = Task.Run(async () =>
        {
            try
            {
                await foreach (var next in source.WithCancellation(lifetime.Token))
                {
                    if (map(next) is { } item)
                        await items.Writer.WriteAsync(item, lifetime.Token);
                }
                items.Writer.TryComplete();
            }
            catch (Exception e) when (e is AgentException or OperationCanceledException)
            {
                // Ended on purpose (the reader left, the sandbox paused or was destroyed): the stream completes.
                items.Writer.TryComplete(lifetime.IsCancellationRequested ? null
                    : e is AgentException agentFailure ? failed(agentFailure)
                    : new GrainException(ErrorCodes.Unavailable, $"Sandbox {Id}'s agent did not answer: {e.Message}"));
            }
        }, CancellationToken.None);
        try
        {
            await foreach (var item in items.Reader.ReadAllAsync(CancellationToken.None))
                yield return item;
        }
        finally
        {
            lifetime.Cancel();
            await pump;
            lifetime.Dispose();
        }
    }
}
