using Wrenn.Silo.Runtime.Tests.Grains;

namespace Wrenn.Silo.Runtime.Tests;

/// <summary>IAsyncEnumerable results across silos: in order, as produced, with back-pressure and cancellation.</summary>
public sealed class StreamingTests
{
    private const int ChunkSize = 64 * 1024;

    [Fact]
    public async Task A_hundred_megabytes_stream_across_silos_in_order_and_the_first_item_arrives_before_the_producer_finishes()
    {
        await using var cluster = await Clusters.StartAsync("stream-100mb", silos: 2);
        await cluster[0].Grains.Get<IStreamGrain>("big").PingAsync(); // the producer lives on silo 1
        var probe = cluster.Probe();
        const int count = 1600; // 1600 × 64 KiB = 100 MiB

        var expected = 0;
        long bytes = 0;
        bool? finishedAtFirstItem = null;
        await foreach (var chunk in cluster[1].Grains.Get<IStreamGrain>("big").ProduceAsync(count, ChunkSize, CancellationToken.None))
        {
            finishedAtFirstItem ??= probe.ProducerFinished;
            Assert.Equal(expected, chunk.Index);
            Assert.Equal(ChunkSize, chunk.Data.Length);
            Assert.True(chunk.Data.AsSpan().IndexOfAnyExcept((byte)(expected % 251)) < 0, $"chunk {expected} has wrong bytes");
            bytes += chunk.Data.Length;
            expected++;
        }

        Assert.Equal(count, expected);
        Assert.Equal(100L * 1024 * 1024, bytes);
        Assert.False(finishedAtFirstItem, "the first item arrived only after the producer had finished");
        Assert.Equal(1, cluster[1].Stats.ForwardedCalls - 0); // one forwarded streaming call carried it all
    }

    [Fact]
    public async Task A_consumer_that_stops_reading_stalls_the_producer_and_cancelling_frees_both_sides()
    {
        await using var cluster = await Clusters.StartAsync("stream-stall", silos: 2);
        await cluster[0].Grains.Get<IStreamGrain>("stall").PingAsync();
        var probe = cluster.Probe();
        using var cancel = new CancellationTokenSource();

        var items = cluster[1].Grains.Get<IStreamGrain>("stall").ProduceAsync(1_000_000, ChunkSize, cancel.Token).GetAsyncEnumerator();
        Assert.True(await items.MoveNextAsync());

        // Stop reading: the producer may fill the flow-control windows and buffers, then must stop.
        long Produced() => Interlocked.Read(ref probe.Produced);
        var settled = await Clusters.EventuallyAsync(async () =>
        {
            var before = Produced();
            await Task.Delay(1000);
            return Produced() == before;
        }, TimeSpan.FromSeconds(30));
        Assert.True(settled, $"the producer kept going ({Produced() / (1024 * 1024)} MiB) while nobody read");
        Assert.True(Produced() < 64L * 1024 * 1024, $"the producer ran {Produced() / (1024 * 1024)} MiB ahead of a stalled consumer");
        Assert.False(probe.ProducerFinished);

        cancel.Cancel();
        await items.DisposeAsync();
        Assert.True(await Clusters.EventuallyAsync(() => Task.FromResult(probe.ProducerCleanedUp), TimeSpan.FromSeconds(10)), "the producer was not stopped");
        // The streaming call's turn has ended: an exclusive call gets in.
        Assert.Equal("pong", await cluster[1].Grains.Get<IStreamGrain>("stall").PingAsync());
    }
}
