using System.Net;
using Grpc.Core;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Guest.Protocol;

namespace Wrenn.Silo.Grains;

/// <summary>Port forwarding's side of the sandbox: where its guest is reached, and what listens there. Shared turns.</summary>
public sealed partial class SandboxGrain
{
    public async Task<GuestRoute> GetGuestRouteAsync(Caller caller)
    {
        // A shared turn: a request that arrives during a pause or a resume waits for it and sees where it ended.
        // A forwarded request needs the VM: with autoResume a paused sandbox wakes first. The forward itself
        // holds its own lease (PortForwarder) while its connection is open.
        using var busy = Busy();
        using var turn = await EnterForVmAsync(caller, CancellationToken.None);
        var record = Visible(caller);
        var vm = record is { State: SandboxState.Running, Vm: { } running } ? running : null;
        return new GuestRoute(record.Host, record.State, vm?.Network.HostAddress.ToString(),
            vm is null ? null : $"{vm.Network.Index}-{vm.Vm.Pid}", record.CreatedAt);
    }

    public async Task<IReadOnlyList<ListeningPort>> ListListeningPortsAsync(Caller caller, CancellationToken cancellationToken)
    {
        // It asks the guest: a paused sandbox with autoResume wakes; without, it has none listening.
        using var busy = Busy();
        using var turn = await EnterForVmAsync(caller, cancellationToken);
        var record = Visible(caller);
        if (record is not { State: SandboxState.Running, Vm: { } vm } || _agent is null)
            return [];
        var agent = RunningAgent(caller);
        try
        {
            var sockets = await agent.ListListeningPortsAsync(turn.Token);
            return sockets.Where(s => s.Port != AgentEndpoint.DefaultPort)
                .Select(s => new ListeningPort((int)s.Port, s.Address, Reachable(s.Address, vm.Network.Guest.Address), s.Pid > 0 ? s.Pid : null, s.Pid > 0 ? s.Command : null))
                .ToList();
        }
        catch (AgentException e) when (e.Code == StatusCode.Unimplemented)
        {
            throw new GrainException(ErrorCodes.FailedPrecondition,
                $"Sandbox {Id}'s agent is older than the listing of ports (it was frozen into a snapshot before it): create the sandbox again from a fresh template.");
        }
        catch (AgentException e)
        {
            throw new GrainException(ErrorCodes.Unavailable, $"Sandbox {Id}'s agent did not answer: {e.Message}");
        }
    }

    /// <summary>Forwarded connections arrive at the guest's own address: a socket bound to loopback only never sees them.</summary>
    private static bool Reachable(string bound, IPAddress guest) =>
        IPAddress.TryParse(bound, out var address)
        && (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(guest)
            || (address.IsIPv4MappedToIPv6 && address.MapToIPv4().Equals(guest)));
}
