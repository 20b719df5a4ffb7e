using Wrenn.Cluster.Tests.Grains;

namespace Wrenn.Cluster.Tests;

/// <summary>
/// The sandbox grain's rules, kept by its own gate inside a reentrant grain, checked through real
/// Orleans calls from two silos: shared turns run together, exclusive ones alone, a shared turn
/// asked for behind a waiting exclusive one waits, a stream holds its shared turn across every
/// MoveNext (Orleans serves those outside the grain's turns), and an exclusive turn can cancel the
/// shared ones before it.
/// </summary>
public sealed class TurnTests(TwoSilos two) : IClassFixture<TwoSilos>
{
    private ITurnProbeGrain Probe(int silo, string key) => two.Cluster.Grains(silo).GetGrain<ITurnProbeGrain>(key);

    private static bool Overlap(TurnSpan a, TurnSpan b) => a.Start < b.End && b.Start < a.End;

    [Fact]
    public async Task Shared_turns_run_together_and_an_exclusive_turn_runs_alone()
    {
        var key = Guid.NewGuid().ToString("N");
        var first = Probe(0, key).SharedAsync("a", 5000);
        var second = Probe(1, key).SharedAsync("b", 5000);
        // The exclusive turn is asked for once both shared ones run: a fixed delay raced the second
        // call's first trip across silos on a loaded machine.
        var deadline = DateTime.UtcNow.AddSeconds(4);
        while (await Probe(0, key).SharedHeldAsync() < 2 && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        var exclusive = Probe(0, key).ExclusiveAsync("x", 100);
        var spans = await Task.WhenAll(first, second, exclusive);

        Assert.True(Overlap(spans[0], spans[1]), "two shared turns should have run at the same time");
        Assert.False(Overlap(spans[2], spans[0]) || Overlap(spans[2], spans[1]), "the exclusive turn ran alongside a shared one");
    }

    [Fact]
    public async Task A_shared_turn_asked_for_behind_a_waiting_exclusive_turn_waits_for_it()
    {
        var key = Guid.NewGuid().ToString("N");
        var running = Probe(0, key).SharedAsync("running", 1500);
        await Task.Delay(200);
        var exclusive = Probe(1, key).ExclusiveAsync("x", 500);
        await Task.Delay(200);
        var late = Probe(0, key).SharedAsync("late", 0);
        var (r, x, l) = (await running, await exclusive, await late);

        Assert.True(x.Start >= r.End, "the exclusive turn must wait for the shared one running");
        Assert.True(l.Start >= x.End, "a shared turn asked for after the exclusive one must not overtake it");
    }

    [Fact]
    public async Task A_stream_holds_its_shared_turn_across_every_item_so_an_exclusive_turn_waits_for_its_end()
    {
        var key = Guid.NewGuid().ToString("N");
        var items = new List<TurnSpan>();
        Task<TurnSpan>? exclusive = null;
        await foreach (var item in Probe(1, key).StreamAsync("s", 5, 200))
        {
            items.Add(item);
            exclusive ??= Probe(0, key).ExclusiveAsync("x", 0); // asked while the stream is still going
        }
        var x = await exclusive!;
        Assert.Equal(5, items.Count);
        Assert.True(x.Start >= items[^1].End, "an exclusive turn ran between two items of a stream");
    }

    [Fact]
    public async Task An_exclusive_turn_that_cancels_shared_ones_cancels_those_running_and_waits_for_them_to_end()
    {
        var key = Guid.NewGuid().ToString("N");
        var running = Probe(0, key).SharedAsync("long", 60_000);
        await Task.Delay(300);
        var destroy = await Probe(1, key).ExclusiveCancellingSharedAsync("destroy");
        var cancelled = await running;

        Assert.True(cancelled.Cancelled, "the running shared turn was not cancelled");
        Assert.True(destroy.Start >= cancelled.End, "the exclusive turn started before the cancelled shared one ended");
    }

    [Fact]
    public async Task A_shared_turn_queued_when_an_exclusive_turn_cancels_shared_ones_still_runs_with_its_token_cancelled()
    {
        // A read waiting behind a pause when a destroy comes must answer (the reconciler's read at
        // start failed the silo's start when it was cancelled instead).
        var key = Guid.NewGuid().ToString("N");
        var pause = Probe(0, key).ExclusiveAsync("pause", 3000);
        await UntilAsync(key, p => p.ExclusiveHeldAsync());
        var queued = Probe(1, key).SharedAsync("queued", 0);
        await UntilAsync(key, async p => await p.WaitingAsync() == 1);
        var destroy = Probe(0, key).ExclusiveCancellingSharedAsync("destroy");
        var (p, q, d) = (await pause, await queued, await destroy);

        Assert.True(q.Cancelled, "the queued shared turn's token was not cancelled by the destroy");
        Assert.True(q.Start >= p.End && d.Start >= q.End, "the turns did not run in the order they were asked for");
    }

    private async Task UntilAsync(string key, Func<ITurnProbeGrain, Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition(Probe(0, key)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the probe grain never reached the expected state");
            await Task.Delay(20);
        }
    }
}
