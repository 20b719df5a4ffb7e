using System.Collections.Immutable;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Wrenn.Grains.Runtime;
using Wrenn.Silo.Runtime.Activations;
using Wrenn.Silo.Runtime.Cluster;
using Wrenn.Silo.Runtime.Directory;
using Wrenn.Silo.Runtime.Grains;
using Wrenn.Silo.Runtime.Transport;

namespace Wrenn.Silo.Runtime.Calls;

/// <summary>A call that arrived from another silo, addressed to <see cref="Target"/> (an incarnation).</summary>
internal sealed record IncomingCall(GrainId Grain, GrainMethod Method, object?[] Arguments, ImmutableArray<string> Chain, string? PinTo, long Target);

/// <summary>
/// Routes every grain call: to the local activation, or to the silo the directory names, or — when
/// the grain has no activation — to where its placement says, which then registers it. A call that
/// finds its route stale (the activation went away, the directory moved) is routed again, a bounded
/// number of times; a call that finds its silo unable to serve waits for it (see <see cref="Reroutes"/>).
/// </summary>
internal sealed class Dispatcher(
    GrainDirectory directory,
    MembershipService membership,
    ActivationTable activations,
    TransportClient transport,
    RuntimeStats stats,
    RuntimeOptions options,
    Func<GrainId, GrainKind, Activation> newActivation)
{
    private const int MaxStaleRoutes = 8;

    private abstract record Route;

    private sealed record Local(Activation Activation) : Route;

    private sealed record Remote(SiloInfo Silo) : Route;

    public async Task<object?> InvokeAsync(GrainKind kind, GrainId grain, GrainMethod method, object?[] arguments, string? pinTo, CancellationToken cancellationToken)
    {
        var chain = ChainFor(grain);
        var timeout = method.Timeout ?? options.CallTimeout;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var started = Stopwatch.GetTimestamp();
        Reroutes? reroutes = null; // made on the first stale route: most calls never need one
        try
        {
            while (true)
            {
                try
                {
                    return await RouteAsync(kind, grain, pinTo, limit.Token) switch
                    {
                        Local local => await local.Activation.InvokeAsync(method, arguments, chain, limit.Token),
                        Remote remote => await ForwardAsync(remote.Silo, new RemoteCall(grain, method, arguments, chain, pinTo, timeout), limit.Token),
                        _ => throw new UnreachableException(),
                    };
                }
                catch (Exception e) when (IsStaleRoute(e))
                {
                    await BeforeRerouteAsync(grain, reroutes ??= new Reroutes(started, membership.FailureDetectionTime), e, limit.Token);
                }
            }
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The call {grain}.{method.Name} did not finish within {timeout.TotalSeconds:0.#} s.");
        }
    }

    public async IAsyncEnumerable<object?> StreamAsync(GrainKind kind, GrainId grain, GrainMethod method, object?[] arguments, string? pinTo, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var chain = ChainFor(grain);
        IAsyncEnumerator<object?>? items = null;
        bool hasItem;
        // Re-routing is possible until the first item: after that the stream belongs to one activation.
        var started = Stopwatch.GetTimestamp();
        Reroutes? reroutes = null;
        while (true)
        {
            try
            {
                items = await RouteAsync(kind, grain, pinTo, cancellationToken) switch
                {
                    Local local => local.Activation.StreamAsync(method, arguments, chain, cancellationToken).GetAsyncEnumerator(cancellationToken),
                    Remote remote => ForwardStream(remote.Silo, new RemoteCall(grain, method, arguments, chain, pinTo, null), cancellationToken).GetAsyncEnumerator(cancellationToken),
                    _ => throw new UnreachableException(),
                };
                hasItem = await items.MoveNextAsync();
                break;
            }
            catch (Exception e) when (IsStaleRoute(e))
            {
                if (items is not null)
                    await items.DisposeAsync();
                items = null;
                await BeforeRerouteAsync(grain, reroutes ??= new Reroutes(started, membership.FailureDetectionTime), e, cancellationToken);
            }
        }
        await using (items)
        {
            while (hasItem)
            {
                yield return items.Current;
                hasItem = await items.MoveNextAsync();
            }
        }
    }

    /// <summary>A call from another silo: served by the local activation, or made here, or refused as not here.</summary>
    public async Task<object?> InvokeHereAsync(GrainKind kind, IncomingCall call, CancellationToken cancellationToken)
    {
        var activation = await ActivationHereAsync(kind, call, cancellationToken);
        return await activation.InvokeAsync(call.Method, call.Arguments, call.Chain, cancellationToken);
    }

    public async IAsyncEnumerable<object?> StreamHereAsync(GrainKind kind, IncomingCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var activation = await ActivationHereAsync(kind, call, cancellationToken);
        await foreach (var item in activation.StreamAsync(call.Method, call.Arguments, call.Chain, cancellationToken))
            yield return item;
    }

    private async Task<Activation> ActivationHereAsync(GrainKind kind, IncomingCall call, CancellationToken cancellationToken)
    {
        if (call.Target != membership.Incarnation || !membership.CanServe)
            throw new NotHereException(null);
        if (activations.TryGetLive(call.Grain, out var live))
            return live;
        if (kind.Placement == PlacementKind.Pinned && await directory.PinAsync(call.Grain, call.PinTo, cancellationToken) is var owner && owner != membership.Name)
            throw owner is null ? NotFound(call.Grain) : new NotHereException(null);
        return await ActivateHereAsync(kind, call.Grain, cancellationToken);
    }

    /// <summary>A pinned grain exists only once something pinned it to a silo (its creation); asking for another is not an activation.</summary>
    private static GrainException NotFound(GrainId grain) =>
        new("NOT_FOUND", $"{grain} does not exist (a pinned grain is created by a call that names its silo).");

    private ImmutableArray<string> ChainFor(GrainId grain)
    {
        var chain = CallChain.Current;
        var id = grain.ToString();
        if (chain.Contains(id))
            throw new GrainCallCycleException([.. chain, id]);
        return chain;
    }

    private static bool IsStaleRoute(Exception e) => e is ActivationGoneException or NotHereException;

    private async Task BeforeRerouteAsync(GrainId grain, Reroutes reroutes, Exception reason, CancellationToken cancellationToken)
    {
        directory.Forget(grain);
        if (reason is NotHereException { Owner: null })
        {
            // The silo we picked could not take it (its lease lapsed under load, it is stopping, or it
            // was fenced and our view is behind): look again, with a growing pause.
            if (!reroutes.MayWaitForService(out var pause))
                throw new GrainUnavailableException(grain.ToString(), $"no silo took the call within {reroutes.Waited.TotalSeconds:0.#} s (last: {reason.Message})");
            await Task.Delay(pause, cancellationToken);
            await membership.RefreshViewAsync(cancellationToken);
        }
        else if (!reroutes.MayRouteAgain())
            throw new GrainUnavailableException(grain.ToString(), $"no silo took the call after {MaxStaleRoutes} routes (last: {reason.Message})");
    }

    /// <summary>
    /// How long one call (which began at <c>started</c>) keeps looking for its grain. A stale route (the
    /// activation moved) settles at once, so a few tries are enough. A silo that cannot serve either heartbeats again or is declared
    /// dead (and its grains move) within the failure-detection time, so the call waits that long, twice
    /// over, before giving up.
    /// </summary>
    private sealed class Reroutes(long started, TimeSpan failureDetectionTime)
    {
        private int _staleRoutes;
        private int _waits;

        public TimeSpan Waited => Stopwatch.GetElapsedTime(started);

        public bool MayRouteAgain() => ++_staleRoutes < MaxStaleRoutes;

        public bool MayWaitForService(out TimeSpan pause)
        {
            pause = TimeSpan.FromMilliseconds(Math.Min(50 * ++_waits, 500));
            return Waited + pause < failureDetectionTime * 2;
        }
    }

    private async Task<object?> ForwardAsync(SiloInfo silo, RemoteCall call, CancellationToken cancellationToken)
    {
        stats.Forwarded();
        return await transport.InvokeAsync(silo, call, cancellationToken);
    }

    private IAsyncEnumerable<object?> ForwardStream(SiloInfo silo, RemoteCall call, CancellationToken cancellationToken)
    {
        stats.Forwarded();
        return transport.StreamAsync(silo, call, cancellationToken);
    }

    private async Task<Route> RouteAsync(GrainKind kind, GrainId grain, string? pinTo, CancellationToken cancellationToken)
    {
        if (membership.CanServe && activations.TryGetLive(grain, out var live))
            return new Local(live);

        var view = membership.View;
        if (kind.Placement == PlacementKind.Pinned)
        {
            var owner = await directory.PinAsync(grain, pinTo, cancellationToken) ?? throw NotFound(grain);
            if (owner == membership.Name)
                return new Local(await ActivateHereAsync(kind, grain, cancellationToken));
            var silo = view.LatestByName(owner);
            if (silo is null)
            {
                await membership.RefreshViewAsync(cancellationToken); // it may have joined after our last look
                view = membership.View;
                silo = view.LatestByName(owner);
            }
            return silo switch
            {
                null => throw new GrainUnavailableException(grain.ToString(), $"it is pinned to silo {owner}, which has not joined the cluster"),
                { Status: SiloStatus.Dead } => throw new GrainLostException(grain.ToString(), owner),
                { Status: SiloStatus.Left } => throw new GrainUnavailableException(grain.ToString(), $"silo {owner}, which it is pinned to, has stopped"),
                _ when view.IsSuspected(silo) => throw new GrainUnavailableException(grain.ToString(), $"silo {owner}, which it is pinned to, is suspected (no heartbeat for {silo.HeartbeatAge.TotalSeconds:0.0} s)"),
                _ => new Remote(silo),
            };
        }

        if (await directory.LookupAsync(grain, cancellationToken) is { } incarnation)
        {
            if (incarnation == membership.Incarnation)
                return new Local(await ActivateHereAsync(kind, grain, cancellationToken));
            var silo = view.ByIncarnation(incarnation);
            if (silo is null && incarnation > view.MaxIncarnation)
            {
                await membership.RefreshViewAsync(cancellationToken); // a silo that joined after our last look
                silo = membership.View.ByIncarnation(incarnation);
            }
            if (silo is { Status: SiloStatus.Active })
                return new Remote(silo);
            directory.Forget(grain); // its silo is gone; registration below takes the entry over
        }

        var target = kind.Placement == PlacementKind.Spread && view.Live.Count > 0
            ? view.Live[Random.Shared.Next(view.Live.Count)]
            : null;
        if (target is null || target.Incarnation == membership.Incarnation)
            return new Local(await ActivateHereAsync(kind, grain, cancellationToken));
        return new Remote(target);
    }

    /// <summary>Registers the grain for this silo in the directory and activates it, or says who has it.</summary>
    private Task<Activation> ActivateHereAsync(GrainKind kind, GrainId grain, CancellationToken cancellationToken) =>
        // A silo whose lease ran out serves nothing, not even activations it still holds: the cluster
        // may have declared it dead and re-activated them elsewhere.
        !membership.CanServe ? Task.FromException<Activation>(new NotHereException(null)) :
        activations.GetOrCreateAsync(grain, async () =>
        {
            if (!membership.CanServe)
                throw new NotHereException(null);
            var owner = await directory.RegisterAsync(grain, membership.Incarnation, CancellationToken.None);
            if (owner != membership.Incarnation)
                throw new NotHereException(owner);
            stats.Activated();
            return newActivation(grain, kind);
        }).WaitAsync(cancellationToken);
}
