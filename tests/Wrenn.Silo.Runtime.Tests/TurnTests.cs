using Wrenn.Grains.Runtime;
using Wrenn.Silo.Runtime.Tests.Grains;

namespace Wrenn.Silo.Runtime.Tests;

/// <summary>Calls run in turns: exclusive by default, shared when marked, cycles refused at once.</summary>
public sealed class TurnTests
{
    [Fact]
    public async Task Exclusive_calls_run_one_at_a_time_in_the_order_they_arrive()
    {
        await using var cluster = await Clusters.StartAsync("turn-order", silos: 1);
        var grain = cluster[0].Grains.Get<ITurnGrain>("order");
        await grain.ListAsync(); // activate first, so that every call below goes straight to the gate

        await Task.WhenAll(Enumerable.Range(0, 200).Select(grain.AppendAsync).ToArray());

        Assert.Equal(Enumerable.Range(0, 200), await grain.ListAsync());
    }

    [Fact]
    public async Task Shared_calls_overlap_each_other_but_never_an_exclusive_call()
    {
        await using var cluster = await Clusters.StartAsync("turn-shared", silos: 1);
        var grain = cluster[0].Grains.Get<ITurnGrain>("shared");
        await grain.ListAsync();

        // Three readers that each wait (up to 20 s) until all three are inside together.
        var readers = Enumerable.Range(0, 3).Select(_ => grain.ReadSlowlyAsync(3, TimeSpan.FromSeconds(20))).ToList();
        var writer = grain.WriteAsync();
        var lateReader = grain.ReadSlowlyAsync(1, TimeSpan.Zero);

        Assert.All(await Task.WhenAll(readers), r => Assert.Equal("max shared 3", r));
        Assert.Equal("alone", await writer);
        Assert.DoesNotContain("overlapped", await lateReader);
    }

    [Fact]
    public async Task A_cancelling_exclusive_call_cancels_the_running_shared_calls_first()
    {
        await using var cluster = await Clusters.StartAsync("turn-cancel", silos: 1);
        var grain = cluster[0].Grains.Get<ITurnGrain>("cancel");
        await grain.ListAsync();

        var waiting = Enumerable.Range(0, 2).Select(_ => grain.WaitForCancellationAsync(CancellationToken.None)).ToList();
        await Task.Delay(200);
        Assert.Equal("destroyed alone", await grain.DestroyAsync());
        Assert.All(await Task.WhenAll(waiting), r => Assert.Equal("cancelled", r));
    }

    [Fact]
    public async Task A_call_cycle_across_silos_fails_at_once_naming_the_cycle()
    {
        await using var cluster = await Clusters.StartAsync("turn-cycle", silos: 2);
        // a is activated on silo 1 and b on silo 2; then a -> b -> a.
        await cluster[0].Grains.Get<ICycleGrain>("a").CallAlongAsync([]);
        await cluster[1].Grains.Get<ICycleGrain>("b").CallAlongAsync([]);

        var started = DateTime.UtcNow;
        var error = await Assert.ThrowsAsync<GrainCallCycleException>(() => cluster[0].Grains.Get<ICycleGrain>("a").CallAlongAsync(["b", "a"]));

        Assert.Equal(["cycle/a", "cycle/b", "cycle/a"], error.Chain);
        Assert.Contains("cycle/a -> cycle/b -> cycle/a", error.Message);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(25), "the cycle must fail at once, not at the 30 s call timeout");
        Assert.Equal("a", await cluster[0].Grains.Get<ICycleGrain>("b").CallAlongAsync(["a"])); // no cycle: fine
    }

    [Fact]
    public async Task A_unary_call_past_its_timeout_fails_with_a_timeout_and_frees_the_grain()
    {
        await using var cluster = await Clusters.StartAsync("turn-timeout", silos: 2);
        var grain = cluster[0].Grains.Get<ITurnGrain>("timeout");
        await grain.ListAsync();

        var error = await Assert.ThrowsAsync<TimeoutException>(() => cluster[1].Grains.Get<ITurnGrain>("timeout").HangAsync(CancellationToken.None));
        Assert.Contains("turns/timeout.HangAsync", error.Message);
        await grain.AppendAsync(1); // the hanging call was cancelled and its turn ended
    }

    [Fact]
    public async Task A_cancelled_caller_cancels_the_call_on_the_other_silo()
    {
        await using var cluster = await Clusters.StartAsync("turn-cancel-remote", silos: 2);
        await cluster[0].Grains.Get<ITurnGrain>("remote").ListAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var result = await cluster[1].Grains.Get<ITurnGrain>("remote").WaitForCancellationAsync(cancel.Token)
            .ContinueWith(t => t.IsCanceled || t.Exception?.InnerException is OperationCanceledException ? "caller saw cancellation" : t.Result);

        Assert.Equal("caller saw cancellation", result);
        Assert.Equal("destroyed alone", await cluster[0].Grains.Get<ITurnGrain>("remote").DestroyAsync());
    }
}
