using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Wrenn.Guest.Protocol;

/// <summary>
/// Waits until a booting or restored guest accepts TCP connections on the agent's port, with a fresh
/// SYN every few tens of milliseconds. A connect left to the kernel waits a whole second to resend a
/// SYN that was lost (one sent before the guest's network ran), and a fixed poll wastes half its
/// period on average; this answers within one short attempt of the moment the guest listens.
/// </summary>
public static class AgentPortWaiter
{
    /// <summary>The first attempt's timeout; each later one waits half as long again, up to <see cref="LongestAttempt"/>.</summary>
    public static readonly TimeSpan FirstAttempt = TimeSpan.FromMilliseconds(20);

    /// <summary>The longest a single attempt waits for its SYN's answer.</summary>
    public static readonly TimeSpan LongestAttempt = TimeSpan.FromMilliseconds(250);

    /// <summary>The pause after a refused connection (the guest runs, its agent does not listen yet).</summary>
    public static readonly TimeSpan AfterRefused = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Returns true once a connection to <paramref name="address"/>:<paramref name="port"/> was
    /// accepted (and closed again), false when <paramref name="budget"/> passed first.
    /// </summary>
    public static async Task<bool> WaitAcceptingAsync(IPAddress address, int port, TimeSpan budget, CancellationToken cancellationToken)
    {
        var elapsed = Stopwatch.StartNew();
        var attempt = FirstAttempt;
        while (elapsed.Elapsed < budget)
        {
            using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Min(attempt, Max(budget - elapsed.Elapsed, TimeSpan.FromMilliseconds(1))));
            try
            {
                await socket.ConnectAsync(address, port, timeout.Token);
                return true;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // No answer to this SYN: the next attempt sends a fresh one.
                attempt = Min(attempt * 1.5, LongestAttempt);
            }
            catch (SocketException)
            {
                // Refused or unreachable: the guest is not listening yet.
                await Task.Delay(AfterRefused, cancellationToken);
            }
        }
        return false;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
