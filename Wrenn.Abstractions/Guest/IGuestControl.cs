namespace Wrenn.Abstractions.Guest;

/// <summary>
/// The few guest-agent calls plugins may make (the full agent API is the silo's). The silo
/// provides it per sandbox.
/// </summary>
public interface IGuestControl
{
    /// <summary>The sandbox this agent runs in.</summary>
    string SandboxId { get; }

    /// <summary>Reads the guest's wall clock.</summary>
    Task<DateTimeOffset> GetTimeAsync(CancellationToken cancellationToken);

    /// <summary>Sets the guest's wall clock.</summary>
    Task SetTimeAsync(DateTimeOffset time, CancellationToken cancellationToken);

    /// <summary>Whether the guest has a PTP clock device (e.g. /dev/ptp0 from ptp_kvm).</summary>
    Task<bool> HasPtpClockAsync(CancellationToken cancellationToken);
}
