using Wrenn.Grains.Errors;
using Wrenn.Grains.Ids;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Cluster;
using Wrenn.Silo.Cluster.Placement;
using Wrenn.Silo.Data;
using Wrenn.Silo.Quotas;

namespace Wrenn.Silo.Sandboxes;

/// <summary>What a user asks of the platform, before a sandbox grain exists: resolve the template, find a host with room, create.</summary>
public sealed record NewSandbox(string Template, int Vcpus = 0, int MemoryMib = 0, int TimeoutSeconds = 300, IReadOnlyDictionary<string, string>? Metadata = null,
    NetworkPolicy? Network = null, SandboxLifecycle? Lifecycle = null);

/// <summary>
/// The entry point for sandbox operations that span grains: creating (template by name, room in the
/// team's quota, a host with room — this one first, then the others), finding and listing.
/// Everything else is a call on the sandbox's grain.
/// </summary>
public sealed class SandboxService(IGrainFactory grains, TemplateCatalog templates, SandboxStore store, ClusterHosts hosts, TeamQuotas quotas)
{
    public const long DiskPerSandboxMib = 2048;

    public async Task<SandboxInfo> CreateAsync(Caller caller, NewSandbox request, CancellationToken cancellationToken)
    {
        var template = await templates.ResolveAsync(caller, request.Template, cancellationToken)
            ?? throw new GrainException(ErrorCodes.NotFound, $"No template named '{request.Template}' in your team or among public templates.");
        var vcpus = request.Vcpus > 0 ? request.Vcpus : template.Vcpus;
        var memory = request.MemoryMib > 0 ? request.MemoryMib : template.MemoryMib;
        if (vcpus is < 1 or > 64)
            throw new GrainException(ErrorCodes.InvalidArgument, $"vcpus must be between 1 and 64 (got {vcpus}).");
        if (memory is < 128 or > 262_144)
            throw new GrainException(ErrorCodes.InvalidArgument, $"memoryMib must be between 128 and 262144 (got {memory}).");
        if (request.TimeoutSeconds < 1)
            throw new GrainException(ErrorCodes.InvalidArgument, $"timeoutSeconds must be at least 1 (got {request.TimeoutSeconds}).");
        if (request.Network is { } network)
            NetworkPolicies.Parse(network); // a bad entry is refused before any room is held
        if (request.Lifecycle is { IdleSeconds: { } idle } && idle is < SandboxLifecycle.MinIdleSeconds or > SandboxLifecycle.MaxIdleSeconds)
            throw new GrainException(ErrorCodes.InvalidArgument,
                $"autoPause.idleSeconds must be between {SandboxLifecycle.MinIdleSeconds} and {SandboxLifecycle.MaxIdleSeconds} (got {idle}).");

        var id = SandboxId.New().ToString();
        // A snapshot template's files live on one host: its sandboxes start there, at its size.
        if (template.Kind == TemplateKind.Snapshot)
            (vcpus, memory) = (template.Vcpus, template.MemoryMib);
        // The team's quota first (RESOURCE_EXHAUSTED naming the limit): a refused create touches no host.
        await quotas.HoldAsync(new SandboxHold(caller.TeamId, id, HoldKind.Running, vcpus, memory), enforce: true, cancellationToken);
        try
        {
            var host = await ReserveAsync(id, vcpus, memory, template.Kind == TemplateKind.Snapshot ? template.Source.Host : null, cancellationToken);
            try
            {
                using (GrainHosts.OnHost(host))
                    return await grains.GetGrain<ISandboxGrain>(id)
                        .CreateAsync(caller, new CreateSandbox(template.Id, vcpus, memory, request.TimeoutSeconds, request.Metadata, request.Network, request.Lifecycle), cancellationToken);
            }
            catch (GrainException e) when (e.Code is ErrorCodes.Unavailable)
            {
                // The create never ran on the host: give its room back (if the host can be reached at all).
                try
                {
                    await grains.GetGrain<IHostSlotGrain>(host).ReleaseAsync(Caller.System, id);
                }
                catch (GrainException)
                {
                    // Unreachable too: the host rebuilds nothing for a sandbox without a record, so its reservation goes when it does.
                }
                throw;
            }
        }
        catch
        {
            // The sandbox failed or never started, so it counts no more. (A create that went on after its
            // call gave up is counted again by the reconciler, which settles holds against the records.)
            try
            {
                await quotas.ReleaseAsync(id, CancellationToken.None);
            }
            catch (Exception)
            {
                // The reconciler releases a hold whose sandbox never came to be or ended.
            }
            throw;
        }
    }

    /// <summary>Reserves room on this host if it fits, else on another live host; RESOURCE_EXHAUSTED when none has room.</summary>
    private async Task<string> ReserveAsync(string sandboxId, int vcpus, int memoryMib, string? onlyHost, CancellationToken cancellationToken)
    {
        IEnumerable<string> others = onlyHost is not null ? [] : hosts.Live().Where(h => h != hosts.Local).OrderBy(_ => Random.Shared.Next());
        var first = onlyHost ?? hosts.Local;
        GrainException? last = null;
        foreach (var host in others.Prepend(first))
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await grains.GetGrain<IHostSlotGrain>(host).ReserveAsync(Caller.System, sandboxId, vcpus, memoryMib, DiskPerSandboxMib);
                return host;
            }
            catch (GrainException e) when (e.Code is ErrorCodes.ResourceExhausted or ErrorCodes.Unavailable)
            {
                last = e;
            }
        }
        throw new GrainException(ErrorCodes.ResourceExhausted, $"No host has room for {vcpus} vCPUs and {memoryMib} MiB: {last?.Message}");
    }

    /// <summary>The sandbox's grain, if the id is a sandbox id (anything else names no sandbox).</summary>
    public ISandboxGrain Sandbox(string id) =>
        SandboxId.TryParse(id, null, out var parsed)
            ? grains.GetGrain<ISandboxGrain>(parsed.ToString())
            : throw new GrainException(ErrorCodes.NotFound, $"'{id}' is not a sandbox id (sb- followed by a UUID).");

    public Task<IReadOnlyList<SandboxRecord>> ListAsync(Caller caller, SandboxState? state, string? after, int first, CancellationToken cancellationToken) =>
        store.ListAsync(caller.TeamId, state, after, Math.Clamp(first, 1, 500), cancellationToken);
}
