using System.Security.Cryptography;
using Wrenn.Guest.Protocol;
using Grpc.Core;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Tests;

/// <summary>
/// The agent's System service, against the published agent binary running on the host. SetTime is
/// only checked up to the point where it would change the clock: on the host it would set the
/// host's clock. The VM tests set a guest's clock for real.
/// </summary>
public sealed class AgentSystemTests(AgentProcessFixture agent) : IClassFixture<AgentProcessFixture>
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);

    [Fact]
    public async Task Health_reports_a_version_and_an_uptime_that_grows()
    {
        using var client = agent.NewClient();
        var first = await client.HealthAsync(Ct);
        await Task.Delay(200, Ct);
        var second = await client.HealthAsync(Ct);
        Assert.False(string.IsNullOrEmpty(first.Version));
        Assert.True(second.UptimeMs > first.UptimeMs, $"uptime went from {first.UptimeMs} to {second.UptimeMs} ms");
    }

    [Fact]
    public async Task GetTime_reads_the_wall_clock_the_agent_runs_under()
    {
        using var client = agent.NewClient();
        var before = DateTimeOffset.UtcNow;
        var time = await client.GetTimeAsync(Ct);
        var after = DateTimeOffset.UtcNow;
        // Same machine, same clock: the answer lies between the two local readings.
        Assert.InRange(time, before.AddMilliseconds(-1), after.AddMilliseconds(1));
    }

    [Fact]
    public async Task SetTime_refuses_a_time_before_1970_without_touching_the_clock()
    {
        using var client = agent.NewClient();
        var error = await Assert.ThrowsAsync<AgentException>(() => client.SetTimeAsync(DateTimeOffset.UnixEpoch.AddDays(-1), Ct));
        Assert.Equal(StatusCode.InvalidArgument, error.Code);
        Assert.InRange(await client.GetTimeAsync(Ct), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
    }

    [Fact]
    public async Task HasPtpClock_tells_whether_dev_ptp0_exists()
    {
        using var client = agent.NewClient();
        var expected = File.Exists("/dev/ptp0");
        Assert.Equal(expected, await client.HasPtpClockAsync(Ct));
        Assert.Equal(expected, (await client.HealthAsync(Ct)).HasPtpClock);
    }

    [Fact]
    public async Task ReseedRandom_mixes_host_bytes_into_the_kernel_rng()
    {
        // On the host this adds 64 random bytes to the host's own pool: harmless, and the real ioctl.
        using var client = agent.NewClient();
        await client.ReseedRandomAsync(RandomNumberGenerator.GetBytes(64), Ct);
    }

    [Fact]
    public async Task ReseedRandom_refuses_a_seed_too_short_to_matter()
    {
        using var client = agent.NewClient();
        var error = await Assert.ThrowsAsync<AgentException>(() => client.ReseedRandomAsync(new byte[4], Ct));
        Assert.Equal(StatusCode.InvalidArgument, error.Code);
    }

    [Fact]
    public async Task Settle_refuses_a_short_seed_or_a_time_before_1970_and_changes_nothing()
    {
        using var client = agent.NewClient();
        // Checked before anything is applied: the clock (here the host's) is not touched.
        var shortSeed = await Assert.ThrowsAsync<AgentException>(() => client.SettleAsync(DateTimeOffset.UtcNow.AddYears(1), new byte[8], Ct));
        Assert.Equal(StatusCode.InvalidArgument, shortSeed.Code);
        Assert.Contains("16 to 4096", shortSeed.Message);
        var badTime = await Assert.ThrowsAsync<AgentException>(() => client.SettleAsync(DateTimeOffset.UnixEpoch.AddDays(-1), RandomNumberGenerator.GetBytes(64), Ct));
        Assert.Equal(StatusCode.InvalidArgument, badTime.Code);
        Assert.InRange(await client.GetTimeAsync(Ct), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
    }

    [Fact]
    public async Task Health_reports_the_protocol_version_and_capabilities()
    {
        using var client = agent.NewClient();
        var health = await client.HealthAsync(Ct);
        Assert.Equal(AgentEndpoint.ProtocolVersion, health.ProtocolVersion);
        Assert.Equal(AgentEndpoint.Capabilities.All, health.Capabilities);
    }

    [Fact]
    public async Task The_client_timeout_of_a_command_kills_it_and_says_deadline_exceeded()
    {
        using var client = agent.NewClient();
        var marker = $"wt-deadline-{Guid.NewGuid():N}";
        var error = await Assert.ThrowsAsync<AgentException>(() =>
            client.ExecAsync(new StartRequest { Command = "sleep", Args = { "30" }, Tag = marker }, Ct, TimeSpan.FromSeconds(1)));
        Assert.Equal(StatusCode.DeadlineExceeded, error.Code);
        // The agent notices the closed stream on its own deadline; give it a moment, not a speed bar.
        for (var i = 0; i < 50 && (await client.ListProcessesAsync(Ct)).Any(p => p.Tag == marker); i++)
            await Task.Delay(100, Ct);
        Assert.DoesNotContain(await client.ListProcessesAsync(Ct), p => p.Tag == marker);
    }
}
