using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Network;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Data;
using Wrenn.Silo.Sandboxes;

namespace Wrenn.Silo.Grains;

/// <summary>
/// The sandbox's egress policy: chosen at create (its own, else its template's, else the host's
/// default, and from then on written with it), in force on every slot its VM gets (create, resume,
/// the source's resume after a template, adoption after a restart) and changed live.
/// </summary>
public sealed partial class SandboxGrain
{
    /// <summary>One change at a time: a change holds a shared turn (a long exec must not hold it back), so it is serialised here.</summary>
    private readonly SemaphoreSlim _networkChange = new(1, 1);

    public async Task<SandboxInfo> UpdateNetworkAsync(Caller caller, NetworkPolicy network)
    {
        using var turn = await _turns.EnterSharedAsync(CancellationToken.None);
        await _networkChange.WaitAsync();
        try
        {
            var record = Visible(caller);
            if (vms.DefaultEgress is not { } hostDefault)
                throw NoEgressPolicies();
            var policy = NetworkPolicies.Parse(network, hostDefault);
            if (record.State is not (SandboxState.Running or SandboxState.Paused))
                throw NotRunning(record);
            var normal = NetworkPolicies.Describe(policy);
            if (record.State == SandboxState.Running && record.Vm is { } vm)
            {
                await vms.ApplyEgressAsync(vm.Network, policy, CancellationToken.None);
                try
                {
                    _record = await store.UpdateAsync(record with { Network = normal }, CancellationToken.None);
                }
                catch
                {
                    // Nothing half-applied: the VM goes back to the policy its record holds.
                    await vms.ApplyEgressAsync(vm.Network, EgressOf(record), CancellationToken.None);
                    throw;
                }
            }
            else
            {
                // A paused sandbox holds no network: the policy is in force from its resume.
                _record = await store.UpdateAsync(record with { Network = normal }, CancellationToken.None);
            }
            LogNetworkChanged(Id, policy.ToString());
            return _record.ToInfo();
        }
        finally
        {
            _networkChange.Release();
        }
    }

    /// <summary>The policy a new sandbox starts with: its own, else its template's, else the host's default (null where the plugin has none).</summary>
    private NetworkPolicy? PolicyForCreate(CreateSandbox request, TemplateRow template)
    {
        var hostDefault = vms.DefaultEgress;
        if (request.Network is { } own)
            return hostDefault is null ? throw NoEgressPolicies() : NetworkPolicies.Describe(NetworkPolicies.Parse(own, hostDefault));
        if (hostDefault is null)
            return null;
        return template.Source.Network is { } inherited ? NetworkPolicies.Describe(NetworkPolicies.Parse(inherited)) : NetworkPolicies.Describe(hostDefault);
    }

    /// <summary>The policy in force for a record (null: the plugin's default, for sandboxes recorded before policies).</summary>
    private static EgressPolicy? EgressOf(SandboxRecord record) => record.Network is { } network ? NetworkPolicies.Parse(network) : null;

    private GrainException NoEgressPolicies() =>
        new(ErrorCodes.FailedPrecondition, $"Host {silo.Name}'s network plugin has no per-sandbox egress policy; create the sandbox without network.");

    /// <summary>After a silo restart, the adopted VM's slot gets its policy again (the plugin's resolver starts empty, on a new port).</summary>
    private async Task ReapplyEgressAsync(SandboxRecord record, CancellationToken cancellationToken)
    {
        // Every adopted slot, the default's too: the new resolver knows none until told.
        if (record.Vm is not { } vm || (EgressOf(record) ?? vms.DefaultEgress) is not { } policy)
            return;
        try
        {
            await vms.ApplyEgressAsync(vm.Network, policy, cancellationToken);
        }
        catch (Exception e)
        {
            LogNetworkReapplyFailed(e, Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId}: egress policy now {Policy}")]
    private partial void LogNetworkChanged(string sandboxId, string policy);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sandbox {SandboxId}: its egress policy could not be put in force again after the silo restarted; its names may not resolve until updateSandboxNetwork is called")]
    private partial void LogNetworkReapplyFailed(Exception exception, string sandboxId);
}
