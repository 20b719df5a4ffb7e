using Wrenn.Abstractions.Guest;
using Wrenn.Guest.Protocol;

namespace Wrenn.Silo.Sandboxes;

/// <summary>The slice of the agent API that plugins (the guest clock) may use.</summary>
internal sealed class AgentGuestControl(string sandboxId, AgentClient agent) : IGuestControl
{
    public string SandboxId => sandboxId;

    public Task<DateTimeOffset> GetTimeAsync(CancellationToken cancellationToken) => agent.GetTimeAsync(cancellationToken);

    public Task SetTimeAsync(DateTimeOffset time, CancellationToken cancellationToken) => agent.SetTimeAsync(time, cancellationToken);

    public async Task<bool> HasPtpClockAsync(CancellationToken cancellationToken) =>
        (await agent.HealthAsync(cancellationToken)).HasPtpClock;
}
