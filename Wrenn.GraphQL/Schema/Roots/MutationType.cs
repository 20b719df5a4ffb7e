using System.Text;
using GraphQL;
using GraphQL.Types;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;
using Wrenn.GraphQL.RateLimiting;
using Wrenn.GraphQL.Schema.Types;

namespace Wrenn.GraphQL.Schema.Roots;

public sealed class MutationType : ObjectGraphType
{
    public MutationType()
    {
        Name = "Mutation";
        Field<NonNullGraphType<SandboxType>, SandboxInfo>("createSandbox").Description("Creates a sandbox and returns once it is RUNNING.")
            .Argument<NonNullGraphType<CreateSandboxInputType>>("input")
            .ResolveAsync(async c =>
            {
                var api = c.Api();
                var input = c.GetArgument<CreateSandboxInput>("input");
                var metadata = new Dictionary<string, string>();
                foreach (var pair in input.Metadata ?? [])
                    metadata[pair.Key] = pair.Value;
                return await api.Backend.CreateSandboxAsync(api.Caller, new NewSandboxRequest(input.Template, input.Vcpus ?? 0, input.MemoryMib ?? 0,
                    input.TimeoutSeconds ?? CreateSandboxInputType.DefaultTimeoutSeconds, metadata, input.Network?.ToPolicy(), input.Lifecycle), c.CancellationToken);
            })
            .CreatesSandbox();
        Field<NonNullGraphType<BooleanGraphType>, bool>("destroySandbox").Description("Destroys a sandbox; returns once its VM, network and disk are gone. Running commands are cancelled.")
            .Argument<NonNullGraphType<IdGraphType>>("id")
            .ResolveAsync(async c =>
            {
                await c.Api().Backend.Sandbox(c.GetArgument<string>("id")).DestroyAsync(c.Api().Caller);
                return true;
            });
        Field<NonNullGraphType<SandboxType>, SandboxInfo>("pauseSandbox")
            .Description("Snapshots the sandbox to disk and stops its VM: it holds no memory or CPU until resumed. Waits for running exec and execStream commands; processes started with startProcess are frozen with it and run on after the resume (processOutput and watchDir subscriptions complete).")
            .Argument<NonNullGraphType<IdGraphType>>("id")
            .ResolveAsync(async c => await c.Api().Backend.Sandbox(c.GetArgument<string>("id")).PauseAsync(c.Api().Caller));
        Field<NonNullGraphType<SandboxType>, SandboxInfo>("resumeSandbox").Description("Brings a paused sandbox back exactly as it was (with autoResume, any call that needs its VM does this first).")
            .Argument<NonNullGraphType<IdGraphType>>("id")
            .ResolveAsync(async c => await c.Api().Backend.Sandbox(c.GetArgument<string>("id")).ResumeAsync(c.Api().Caller));
        Field<NonNullGraphType<SandboxType>, SandboxInfo>("updateSandboxNetwork")
            .Description("Puts a new egress policy in force: at once while the sandbox runs (connections already open go on), from its resume while it is paused. A bad entry is BAD_USER_INPUT naming it and changes nothing.")
            .Argument<NonNullGraphType<IdGraphType>>("id")
            .Argument<NonNullGraphType<NetworkPolicyInputType>>("network")
            .ResolveAsync(async c => await c.Api().Backend.Sandbox(c.GetArgument<string>("id"))
                .UpdateNetworkAsync(c.Api().Caller, c.GetArgument<NetworkPolicyInput>("network").ToPolicy()));
        Field<NonNullGraphType<SandboxType>, SandboxInfo>("updateSandboxLifecycle")
            .Description("Changes how the sandbox stops and starts by itself, running or paused. An omitted argument keeps its value; autoPause: null (given explicitly) turns autoPause off. A new idleSeconds counts from now. Bad input (idleSeconds below 5) is BAD_USER_INPUT naming the field and changes nothing.")
            .Argument<NonNullGraphType<IdGraphType>>("id")
            .Argument<TimeoutActionType>("onTimeout", "What its timeout does when it passes.")
            .Argument<AutoPauseInputType>("autoPause", "Pause by itself after idleSeconds idle; null turns it off.")
            .Argument<BooleanGraphType>("autoResume", "Whether a call that needs its VM wakes it when paused.")
            .ResolveAsync(async c =>
            {
                // HasArgument tells an omitted argument (or an unset variable) from an explicit null.
                var change = new LifecycleChange(
                    OnTimeout: c.HasArgument("onTimeout") ? c.GetArgument<TimeoutAction?>("onTimeout") : null,
                    SetsAutoPause: c.HasArgument("autoPause"),
                    IdleSeconds: c.HasArgument("autoPause") ? c.GetArgument<AutoPauseInput?>("autoPause")?.IdleSeconds : null,
                    AutoResume: c.HasArgument("autoResume") ? c.GetArgument<bool?>("autoResume") : null);
                return await c.Api().Backend.Sandbox(c.GetArgument<string>("id")).UpdateLifecycleAsync(c.Api().Caller, change);
            });
        Field<NonNullGraphType<SandboxType>, SandboxInfo>("setSandboxTimeout").Description("The sandbox is destroyed after this many more seconds of running time.")
            .Argument<NonNullGraphType<IdGraphType>>("id")
            .Argument<NonNullGraphType<IntGraphType>>("seconds")
            .ResolveAsync(async c => await c.Api().Backend.Sandbox(c.GetArgument<string>("id")).SetTimeoutAsync(c.Api().Caller, c.GetArgument<int>("seconds")));
        ExecArguments.AddTo(Field<NonNullGraphType<ExecResultType>, ExecOutcome>("exec").Description("Runs a command to its end and returns its exit code and output."), stdin: true)
            .Argument<IntGraphType>("timeoutSeconds")
            .ResolveAsync(async c => await c.Api().Backend.Sandbox(c.GetArgument<string>("sandboxId"))
                .ExecAsync(c.Api().Caller, ExecArguments.Read(c) with { TimeoutSeconds = c.GetArgument<int?>("timeoutSeconds") }, c.CancellationToken));
        Field<NonNullGraphType<FileInfoType>, FileEntry>("writeFile").Description("Writes a file (parents are created); use PUT /files for large ones.")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<NonNullGraphType<StringGraphType>>("path")
            .Argument<NonNullGraphType<StringGraphType>>("content")
            .Argument<FileEncodingType>("encoding", a => a.DefaultValue = FileEncoding.Utf8)
            .ResolveAsync(async c =>
            {
                var text = c.GetArgument<string>("content");
                var content = c.GetArgument("encoding", FileEncoding.Utf8) == FileEncoding.Base64 ? Base64Argument.Decode(text, "content") : Encoding.UTF8.GetBytes(text);
                return await c.Api().Backend.Sandbox(c.GetArgument<string>("sandboxId")).WriteFileAsync(c.Api().Caller, c.GetArgument<string>("path"), content, c.CancellationToken);
            });
        Field<NonNullGraphType<PortUrlType>, PortUrlInfo>("createPortUrl")
            .Description("A URL that opens a port of the sandbox without a key (the token is in its path) until ttlSeconds pass or the sandbox is gone.")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<NonNullGraphType<IntGraphType>>("port")
            .Argument<IntGraphType>("ttlSeconds", a => a.DefaultValue = 3600)
            .ResolveAsync(async c => await c.Api().Backend.CreatePortUrlAsync(c.Api().Caller, c.GetArgument<string>("sandboxId"), c.GetArgument<int>("port"),
                c.GetArgument("ttlSeconds", 3600), c.Api().Origin, c.CancellationToken));
        Field<NonNullGraphType<FileInfoType>, FileEntry>("makeDir").Description("Makes a folder and any missing parents (an existing folder is fine).")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<NonNullGraphType<StringGraphType>>("path")
            .ResolveAsync(async c => await c.Api().Backend.Sandbox(c.GetArgument<string>("sandboxId")).MakeDirAsync(c.Api().Caller, c.GetArgument<string>("path"), c.CancellationToken));
        Field<NonNullGraphType<FileInfoType>, FileEntry>("movePath").Description("Renames a file or folder; an existing target is refused.")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<NonNullGraphType<StringGraphType>>("from")
            .Argument<NonNullGraphType<StringGraphType>>("to")
            .ResolveAsync(async c => await c.Api().Backend.Sandbox(c.GetArgument<string>("sandboxId"))
                .MovePathAsync(c.Api().Caller, c.GetArgument<string>("from"), c.GetArgument<string>("to"), c.CancellationToken));
        Field<NonNullGraphType<BooleanGraphType>, bool>("removePath").Description("Removes a file, or a folder (a non-empty one only with recursive).")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<NonNullGraphType<StringGraphType>>("path")
            .Argument<BooleanGraphType>("recursive", a => a.DefaultValue = false)
            .ResolveAsync(async c =>
            {
                await c.Api().Backend.Sandbox(c.GetArgument<string>("sandboxId")).RemovePathAsync(c.Api().Caller, c.GetArgument<string>("path"), c.GetArgument("recursive", false), c.CancellationToken);
                return true;
            });
        ProcessRoots.AddMutations(this);
        Field<NonNullGraphType<TemplateType>, TemplateInfo>("createTemplateFromSandbox")
            .Description("Freezes a running sandbox into a template (it goes on running); sandboxes from it start in that state.")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<NonNullGraphType<StringGraphType>>("name")
            .ResolveAsync(async c => await c.Api().Backend.Sandbox(c.GetArgument<string>("sandboxId")).CreateTemplateAsync(c.Api().Caller, c.GetArgument<string>("name")));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<SandboxType>>>, IReadOnlyList<SandboxInfo>>("forkSandbox")
            .Description("Forks a running sandbox into `count` new sandboxes on its host (1 up to the host's bound, 16 unless configured), returning once they are RUNNING. Each starts in the source's state (memory, processes, files, network policy) with its own disk, network slot and fresh randomness. The source runs on in the same VM, stopped only for the moment of the snapshot; its connections stay open. A fork that does not fit the host or the team's quota is RESOURCE_EXHAUSTED and creates nothing; a paused sandbox is FAILED_PRECONDITION.")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<IntGraphType>("count", a => a.DefaultValue = 1)
            .ResolveAsync(async c => await c.Api().Backend.Sandbox(c.GetArgument<string>("sandboxId")).ForkAsync(c.Api().Caller, c.GetArgument("count", 1)))
            .CreatesSandbox();
        Field<NonNullGraphType<BooleanGraphType>, bool>("deleteTemplate").Description("Refused while sandboxes use the template.")
            .Argument<NonNullGraphType<StringGraphType>>("name")
            .ResolveAsync(async c =>
            {
                await c.Api().Backend.DeleteTemplateAsync(c.Api().Caller, c.GetArgument<string>("name"), c.CancellationToken);
                return true;
            });
        Field<NonNullGraphType<WebhookType>, WebhookInfo>("createWebhook")
            .Description("Sends your team's sandbox events of these kinds to url (http or https), signed with secret (at least 16 bytes).")
            .Argument<NonNullGraphType<StringGraphType>>("url")
            .Argument<NonNullGraphType<ListGraphType<NonNullGraphType<SandboxEventKindType>>>>("events")
            .Argument<NonNullGraphType<StringGraphType>>("secret")
            .ResolveAsync(async c => await c.Api().Backend.CreateWebhookAsync(c.Api().Caller, c.GetArgument<string>("url"),
                c.GetArgument<List<SandboxEventKind>>("events"), c.GetArgument<string>("secret"), c.CancellationToken));
        Field<NonNullGraphType<BooleanGraphType>, bool>("deleteWebhook").Description("Stops sending to the webhook; its pending deliveries are given up. False if your team has no such webhook.")
            .Argument<NonNullGraphType<IdGraphType>>("id")
            .ResolveAsync(async c => await c.Api().Backend.DeleteWebhookAsync(c.Api().Caller, c.GetArgument<string>("id"), c.CancellationToken));
        Field<NonNullGraphType<TeamType>, TeamInfo>("createTeam").Description("Admin keys only.")
            .Argument<NonNullGraphType<StringGraphType>>("name")
            .ResolveAsync(async c => await c.Api().Backend.CreateTeamAsync(c.Api().Caller, c.GetArgument<string>("name"), c.CancellationToken));
        Field<NonNullGraphType<NewApiKeyType>, NewApiKeyInfo>("createApiKey").Description("Admin keys only. The key is returned this once.")
            .Argument<NonNullGraphType<StringGraphType>>("team", "Team name or id.")
            .Argument<BooleanGraphType>("admin", a => a.DefaultValue = false)
            .Argument<DateTimeType>("expiresAt", "When the key stops working (default: never); must be in the future.")
            .ResolveAsync(async c => await c.Api().Backend.CreateApiKeyAsync(c.Api().Caller, c.GetArgument<string>("team"), c.GetArgument("admin", false),
                c.GetArgument<DateTimeOffset?>("expiresAt"), c.CancellationToken));
        Field<NonNullGraphType<BooleanGraphType>, bool>("revokeApiKey").Description("Admin keys only.")
            .Argument<NonNullGraphType<IdGraphType>>("id")
            .ResolveAsync(async c => await c.Api().Backend.RevokeApiKeyAsync(c.Api().Caller, c.GetArgument<string>("id"), c.CancellationToken));
        Field<NonNullGraphType<TeamType>, TeamInfo>("setTeamQuota")
            .Description("Admin keys only. Changes the limits given; an omitted one stays as it is, null removes it.")
            .Argument<NonNullGraphType<StringGraphType>>("team", "Team name or id.")
            .Argument<IntGraphType>("maxRunningSandboxes")
            .Argument<IntGraphType>("maxVcpus")
            .Argument<IntGraphType>("maxMemoryMib")
            .Argument<IntGraphType>("maxPausedSandboxes")
            .ResolveAsync(async c =>
            {
                // HasArgument tells an omitted argument (or an unset variable) from an explicit null.
                QuotaLimitArgument Limit(string name) => c.HasArgument(name) ? new(true, c.GetArgument<int?>(name)) : default;
                var change = new TeamQuotaChange(Limit("maxRunningSandboxes"), Limit("maxVcpus"), Limit("maxMemoryMib"), Limit("maxPausedSandboxes"));
                return await c.Api().Backend.SetTeamQuotaAsync(c.Api().Caller, c.GetArgument<string>("team"), change, c.CancellationToken);
            });
    }
}
