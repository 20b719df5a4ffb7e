using Grpc.Core;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Tests;

/// <summary>An agent whose ended processes stay listed for 2 s (10 minutes in the guest), so the forgetting can be seen.</summary>
public sealed class ShortRetentionAgentFixture() : AgentProcessFixture([], ["--ended-process-retention", "2"], null);

/// <summary>How long an ended StartProcess process stays in the table, against the published agent binary.</summary>
public sealed class AgentEndedProcessRetentionTests(ShortRetentionAgentFixture agent) : IClassFixture<ShortRetentionAgentFixture>
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);

    [Fact]
    public async Task An_ended_process_is_listed_with_its_exit_until_the_retention_passes_then_forgotten()
    {
        using var client = agent.NewClient();
        var started = await client.StartProcessAsync(new StartRequest { Command = "sh", Args = { "-c", "echo bye; exit 3" } }, Ct);
        var exited = await AgentProcessTableTests.ExitOfAsync(client, started.Pid);
        Assert.Equal(3, exited.ExitCode);
        Assert.Equal(3, Assert.Single(await client.ListProcessesAsync(Ct), p => p.Pid == started.Pid).Exited.ExitCode);

        // Forgotten 2 s after the end; the poll only bounds the wait, it is no speed bar.
        for (var i = 0; i < 100 && (await client.ListProcessesAsync(Ct)).Any(p => p.Pid == started.Pid); i++)
            await Task.Delay(100, Ct);
        Assert.DoesNotContain(await client.ListProcessesAsync(Ct), p => p.Pid == started.Pid);
        var gone = await Assert.ThrowsAsync<AgentException>(async () =>
        {
            await foreach (var _ in client.AttachAsync(started.Pid, Ct))
            {
            }
        });
        Assert.Equal(StatusCode.NotFound, gone.Code);
    }

    [Fact]
    public async Task A_bad_retention_stops_the_agent_with_its_name_in_the_message()
    {
        var start = new System.Diagnostics.ProcessStartInfo(Wrenn.Testing.RepoPaths.AgentBinary) { RedirectStandardError = true };
        start.ArgumentList.Add("--ended-process-retention");
        start.ArgumentList.Add("soon");
        using var bad = System.Diagnostics.Process.Start(start)!;
        var stderr = await bad.StandardError.ReadToEndAsync(Ct);
        await bad.WaitForExitAsync(Ct);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--ended-process-retention", stderr);
    }
}
