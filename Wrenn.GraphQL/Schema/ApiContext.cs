using GraphQL;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;
using Wrenn.GraphQL.Execution;
using Wrenn.GraphQL.Loading;

namespace Wrenn.GraphQL.Schema;

/// <summary>
/// One request's context (GraphQL.NET's user context): who asks, the backend that acts for them, and
/// the request's batch loaders. Every resolver acts for this caller's team.
/// </summary>
public sealed class ApiContext : Dictionary<string, object?>
{
    public ApiContext(Caller caller, IWrennBackend backend, StreamCredits? credits = null)
    {
        Caller = caller;
        Backend = backend;
        Credits = credits;
        Templates = new BatchLoader<string, TemplateInfo>((ids, ct) => backend.TemplatesByIdAsync(caller, ids, ct));
        Hosts = new BatchLoader<string, HostInfo>((names, ct) => backend.HostsByNameAsync(caller, names, ct));
    }

    public Caller Caller { get; }

    public IWrennBackend Backend { get; }

    /// <summary>The address the request came to (scheme, host, path base), for URLs made on it (port URLs).</summary>
    public Uri? Origin { get; init; }

    /// <summary>For a subscription: how far its source may run ahead of what the transport has sent (null: unbounded).</summary>
    public StreamCredits? Credits { get; }

    /// <summary>Templates of the sandboxes a request touches, loaded in one backend call per level of the response.</summary>
    public BatchLoader<string, TemplateInfo> Templates { get; }

    /// <summary>Hosts of the sandboxes a request touches, loaded in one backend call per level of the response.</summary>
    public BatchLoader<string, HostInfo> Hosts { get; }
}

internal static class ApiContextExtensions
{
    /// <summary>The request's <see cref="ApiContext"/>; the transports always set one, after authenticating.</summary>
    public static ApiContext Api(this IResolveFieldContext context) =>
        context.UserContext as ApiContext ?? throw ApiErrors.Unauthenticated();
}
