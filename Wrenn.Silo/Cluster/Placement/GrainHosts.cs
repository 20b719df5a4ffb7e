using System.Collections.Concurrent;
using Orleans.Runtime;
using Wrenn.Grains.Errors;
using Wrenn.Silo.Data;

namespace Wrenn.Silo.Cluster.Placement;

/// <summary>
/// Which host a host-affine grain belongs to. A host slot grain's key is its host. A sandbox's
/// host is in its record; a create, whose record does not exist yet, names the host it chose in the
/// request context (<see cref="OnHost"/>). A sandbox's host never changes, so answers are cached.
/// </summary>
public sealed class GrainHosts(SandboxStore sandboxes)
{
    /// <summary>The request-context key under which a create names its host.</summary>
    public const string RequestContextKey = "wrenn.host";

    private const int MaxCached = 100_000;
    private readonly ConcurrentDictionary<string, string> _sandboxHosts = new(StringComparer.Ordinal);

    /// <summary>Makes the calls inside the scope (a create) place a new sandbox grain on <paramref name="host"/>.</summary>
    public static IDisposable OnHost(string host)
    {
        RequestContext.Set(RequestContextKey, host);
        return new Scope();
    }

    /// <summary>Sandboxes, host slots and hosts' event grains live on one host; other grains go anywhere.</summary>
    public static bool IsHostAffine(GrainId grain) => grain.Type.ToString() is GrainTypes.Sandbox or GrainTypes.Host or GrainTypes.SandboxEvents;

    /// <param name="creatingOn">The host a create named (<see cref="OnHost"/>), if the call is one.</param>
    public async ValueTask<string> HostOfAsync(GrainId grain, string? creatingOn)
    {
        var key = grain.Key.ToString()!;
        if (grain.Type.ToString() is GrainTypes.Host or GrainTypes.SandboxEvents)
            return key;
        if (grain.Type.ToString() != GrainTypes.Sandbox)
            throw new InvalidOperationException($"Grain {grain} is not host-affine: only sandboxes and host slots are.");
        if (_sandboxHosts.TryGetValue(key, out var cached))
            return cached;
        var host = await sandboxes.HostOfAsync(key, CancellationToken.None);
        if (host is null)
        {
            // Not created yet: only a create names its host; anything else is asking for a sandbox that does not exist.
            if (creatingOn is not null)
                return creatingOn;
            throw new GrainException(ErrorCodes.NotFound, $"No sandbox {key} in your team.");
        }
        if (_sandboxHosts.Count >= MaxCached)
            _sandboxHosts.Clear();
        _sandboxHosts[key] = host;
        return host;
    }

    private sealed class Scope : IDisposable
    {
        public void Dispose() => RequestContext.Remove(RequestContextKey);
    }
}
