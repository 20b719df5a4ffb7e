using Microsoft.Extensions.Logging;
using Wrenn.Silo.Data;
using Wrenn.Silo.Quotas;

namespace Wrenn.Silo.Grains;

/// <summary>
/// What the sandbox counts against its team's quota (<see cref="TeamQuotas"/>, the one place that
/// checks it): a resume or pause takes its hold before it starts, the undo of a failed step and the
/// silo's own transitions only record what is, and an ended sandbox releases its hold after its
/// record says so (the order the reconciler's settling relies on).
/// </summary>
public sealed partial class SandboxGrain
{
    /// <summary>Counts the sandbox as <paramref name="kind"/>; with <paramref name="enforce"/>, RESOURCE_EXHAUSTED when the team has no room (nothing changed).</summary>
    private Task HoldAsync(SandboxRecord record, HoldKind kind, bool enforce) =>
        quotas.HoldAsync(new SandboxHold(record.TeamId, Id, kind, record.Vcpus, record.MemoryMib), enforce, CancellationToken.None);

    /// <summary>Records what the sandbox is after a step that cannot be refused; a failure is left to the reconciler.</summary>
    private async Task SettleHoldAsync(SandboxRecord record, HoldKind kind)
    {
        try
        {
            await HoldAsync(record, kind, enforce: false);
        }
        catch (Exception e)
        {
            LogHoldFailed(e, Id);
        }
    }

    private async Task ReleaseHoldAsync()
    {
        try
        {
            await quotas.ReleaseAsync(Id, CancellationToken.None);
        }
        catch (Exception e)
        {
            LogHoldFailed(e, Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not update sandbox {SandboxId}'s hold on its team's quota; the reconciler settles it against the record")]
    private partial void LogHoldFailed(Exception exception, string sandboxId);
}
