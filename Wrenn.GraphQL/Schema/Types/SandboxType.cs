using GraphQL;
using GraphQL.DataLoader;
using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class SandboxType : ObjectGraphType<SandboxInfo>
{
    public SandboxType()
    {
        Name = "Sandbox";
        Description = "A microVM running a real Linux for one task.";
        Field<NonNullGraphType<IdGraphType>, string>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<SandboxStateType>, ApiSandboxState>("state").Resolve(c => SandboxStateType.Of(c.Source.State));
        Field<NonNullGraphType<TemplateType>, IDataLoaderResult<TemplateInfo>>("template")
            .Resolve(c => c.Api().Templates.Load(c.Source.TemplateId, found => found ?? Deleted(c.Source.TemplateId)));
        Field<HostType, IDataLoaderResult<HostInfo?>>("host").Resolve(c => c.Api().Hosts.Load(c.Source.Host));
        Field<NonNullGraphType<IntGraphType>, int>("vcpus").Resolve(c => c.Source.Vcpus);
        Field<NonNullGraphType<IntGraphType>, int>("memoryMib").Resolve(c => c.Source.MemoryMib);
        Field<NonNullGraphType<DateTimeType>, DateTimeOffset>("createdAt").Resolve(c => c.Source.CreatedAt);
        Field<DateTimeType, DateTimeOffset?>("expiresAt").Description("When its timeout destroys it (while running).").Resolve(c => c.Source.Deadline);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<KeyValueType>>>, IEnumerable<KeyValuePair<string, string>>>("metadata").Resolve(c => c.Source.Metadata);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ListeningPortType>>>, IReadOnlyList<ListeningPort>>("listeningPorts")
            .Description("The TCP ports something listens on in the guest now, by port (none unless it is running). Asks the sandbox's agent.")
            .ResolveAsync(async c => await c.Api().Backend.Sandbox(c.Source.Id).ListListeningPortsAsync(c.Api().Caller, c.CancellationToken));
        Field<SandboxMetricsType, SandboxMetrics?>("metrics").Description("Its latest metrics sample (at most one sampling interval old); null unless RUNNING.")
            .ResolveAsync(async c => c.Source.State == SandboxState.Running ? await c.Api().Backend.Sandbox(c.Source.Id).GetMetricsAsync(c.Api().Caller) : null);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<SandboxMetricsType>>>, IReadOnlyList<SandboxMetrics>>("metricsHistory")
            .Description("Its samples of the last minutes, oldest first: one every sampling interval (5 s) while it ran, kept for the configured time (1 h).")
            .Argument<IntGraphType>("minutes", a => a.DefaultValue = 10)
            .ResolveAsync(async c => await c.Api().Backend.Sandbox(c.Source.Id).GetMetricsHistoryAsync(c.Api().Caller, c.GetArgument("minutes", 10)));
        Field<NetworkPolicyType, NetworkPolicy?>("network")
            .Description("The egress policy in force (changed with updateSandboxNetwork); null for a sandbox recorded before policies existed, which follows its host's setting.")
            .Resolve(c => c.Source.Network);
        Field<NonNullGraphType<TimeoutActionType>, TimeoutAction>("onTimeout").Description("What its timeout does when it passes.")
            .Resolve(c => (c.Source.Lifecycle ?? SandboxLifecycle.Default).OnTimeout);
        Field<AutoPauseType, int?>("autoPause").Description("How long idle it may be before it pauses by itself; null when autoPause is off.")
            .Resolve(c => c.Source.Lifecycle?.IdleSeconds);
        Field<NonNullGraphType<BooleanGraphType>, bool>("autoResume").Description("Whether a call that needs its VM wakes it when paused.")
            .Resolve(c => (c.Source.Lifecycle ?? SandboxLifecycle.Default).AutoResume);
        Field<PauseReasonType, PauseReason?>("pausedReason").Description("Why it is paused; null unless PAUSED.").Resolve(c => c.Source.PausedReason);
        Field<StringGraphType, string?>("error").Description("Why it failed, was lost or was destroyed by the silo.").Resolve(c => c.Source.Error);
    }

    /// <summary>What a sandbox shows of a template deleted since it started.</summary>
    private static TemplateInfo Deleted(string id) => new(id, "(deleted)", null, false, TemplateKind.Image, 0, 0, "", 0, default);
}
