using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;
using Wrenn.GraphQL.Engine.Execution;

namespace Wrenn.GraphQL.Schema;

/// <summary>Who asks: every resolver acts for this caller's team.</summary>
public sealed record ApiCall(Caller Caller, IWrennBackend Backend);

/// <summary>Wrenn's GraphQL schema, built code-first on our engine over the grains.</summary>
public static class WrennApiSchema
{
    private static ApiCall Call(ResolveContext c) => c.Context as ApiCall ?? throw ApiErrors.Unauthenticated();

    private static string StateName(SandboxState state) => state switch
    {
        SandboxState.Creating => "STARTING",
        SandboxState.Running => "RUNNING",
        SandboxState.Paused => "PAUSED",
        SandboxState.Destroyed => "DESTROYED",
        SandboxState.Failed => "FAILED",
        _ => "LOST",
    };

    private static SandboxState? StateFromName(string? name) => name switch
    {
        null => null,
        "STARTING" => SandboxState.Creating,
        "RUNNING" => SandboxState.Running,
        "PAUSED" or "PAUSING" or "RESUMING" => SandboxState.Paused,
        "DESTROYED" => SandboxState.Destroyed,
        "FAILED" => SandboxState.Failed,
        _ => SandboxState.Lost,
    };

    private static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static GraphQLSchema Build()
    {
        var dateTime = new ScalarType("DateTime", v => v is DateTimeOffset d ? Iso(d) : v.ToString()!,
            v => v is string s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) ? d
                : throw new InputCoercionException($"DateTime cannot represent {ScalarType.Printed(v)}: expected an ISO-8601 date and time such as 2026-01-31T12:00:00Z."),
            "https://www.rfc-editor.org/rfc/rfc3339")
        { Description = "A date and time in UTC, as ISO-8601 text (RFC 3339)." };
        var sandboxState = new EnumType("SandboxState", [
            new EnumValueDefinition("STARTING", "Being created: its VM is booting."),
            new EnumValueDefinition("RUNNING", "Running: commands and files work."),
            new EnumValueDefinition("PAUSING", "Being paused."),
            new EnumValueDefinition("PAUSED", "Paused to disk: holds no memory or CPU."),
            new EnumValueDefinition("RESUMING", "Being resumed."),
            new EnumValueDefinition("DESTROYED", "Destroyed by a user or its timeout; nothing of it is left."),
            new EnumValueDefinition("FAILED", "Could not be created; nothing of it is left."),
            new EnumValueDefinition("LOST", "Its VM went away (host crash or reboot)."),
        ]) { Description = "Where a sandbox is in its life." };
        var fileEncoding = new EnumType("FileEncoding", [new EnumValueDefinition("UTF8", "Text."), new EnumValueDefinition("BASE64", "Bytes, base64-encoded.")]);
        var execEventType = new EnumType("ExecEventType", "STDOUT", "STDERR", "EXIT");
        var templateKind = new EnumType("TemplateKind", [new EnumValueDefinition("IMAGE", "A guest image: sandboxes boot from it."), new EnumValueDefinition("SNAPSHOT", "A frozen sandbox: sandboxes resume from it.")]);

        var keyValue = new ObjectType("KeyValue")
            .Field("key", ScalarType.String.NonNull(), c => ((KeyValuePair<string, string>)c.Source!).Key)
            .Field("value", ScalarType.String.NonNull(), c => ((KeyValuePair<string, string>)c.Source!).Value);
        var keyValueInput = new InputObjectType("KeyValueInput").Field("key", ScalarType.String.NonNull()).Field("value", ScalarType.String.NonNull());
        var envVarInput = new InputObjectType("EnvVarInput") { Description = "An environment variable for a command." }
            .Field("name", ScalarType.String.NonNull()).Field("value", ScalarType.String.NonNull());

        var host = new ObjectType("Host") { Description = "A machine running a silo; sandboxes run on hosts." }
            .Field("name", ScalarType.String.NonNull(), c => ((HostInfo)c.Source!).Name)
            .Field("vcpus", ScalarType.Int.NonNull(), [], c => ((HostInfo)c.Source!).Capacity.Vcpus, "vCPUs it offers (cores × overcommit).")
            .Field("memoryMib", ScalarType.Int.NonNull(), c => ((HostInfo)c.Source!).Capacity.MemoryMib)
            .Field("reservedVcpus", ScalarType.Int.NonNull(), c => ((HostInfo)c.Source!).Reserved.Vcpus)
            .Field("reservedMemoryMib", ScalarType.Int.NonNull(), c => ((HostInfo)c.Source!).Reserved.MemoryMib)
            .Field("sandboxes", ScalarType.Int.NonNull(), c => ((HostInfo)c.Source!).Sandboxes)
            .Field("live", ScalarType.Boolean.NonNull(), c => ((HostInfo)c.Source!).Live);

        var template = new ObjectType("Template") { Description = "What sandboxes start from: a guest image, or a frozen sandbox." }
            .Field("id", ScalarType.ID.NonNull(), c => ((TemplateInfo)c.Source!).Id)
            .Field("name", ScalarType.String.NonNull(), c => ((TemplateInfo)c.Source!).Name)
            .Field("public", ScalarType.Boolean.NonNull(), [], c => ((TemplateInfo)c.Source!).IsPublic, "Usable by every team.")
            .Field("kind", templateKind.NonNull(), c => ((TemplateInfo)c.Source!).Kind == TemplateKind.Image ? "IMAGE" : "SNAPSHOT")
            .Field("vcpus", ScalarType.Int.NonNull(), [], c => ((TemplateInfo)c.Source!).Vcpus, "Default vCPUs of its sandboxes.")
            .Field("memoryMib", ScalarType.Int.NonNull(), c => ((TemplateInfo)c.Source!).MemoryMib)
            .Field("sandboxes", ScalarType.Int.NonNull(), [], c => ((TemplateInfo)c.Source!).SandboxesUsingIt, "Sandboxes using it now; it cannot be deleted while any do.")
            .Field("createdAt", dateTime.NonNull(), c => ((TemplateInfo)c.Source!).CreatedAt);

        var sandbox = new ObjectType("Sandbox") { Description = "A microVM running a real Linux for one task." }
            .Field("id", ScalarType.ID.NonNull(), c => ((SandboxInfo)c.Source!).Id)
            .Field("state", sandboxState.NonNull(), c => StateName(((SandboxInfo)c.Source!).State))
            .Field("template", template.NonNull(), [], c => ApiErrors.Guard(async () =>
                (object?)await Call(c).Backend.TemplateAsync(Call(c).Caller, ((SandboxInfo)c.Source!).TemplateId, c.CancellationToken)
                ?? new TemplateInfo(((SandboxInfo)c.Source!).TemplateId, "(deleted)", null, false, TemplateKind.Image, 0, 0, "", 0, default)))
            .Field("host", host, [], c => ApiErrors.Guard(async () =>
                (object?)(await Call(c).Backend.HostsAsync(Call(c).Caller, c.CancellationToken)).FirstOrDefault(h => h.Name == ((SandboxInfo)c.Source!).Host)))
            .Field("vcpus", ScalarType.Int.NonNull(), c => ((SandboxInfo)c.Source!).Vcpus)
            .Field("memoryMib", ScalarType.Int.NonNull(), c => ((SandboxInfo)c.Source!).MemoryMib)
            .Field("createdAt", dateTime.NonNull(), c => ((SandboxInfo)c.Source!).CreatedAt)
            .Field("expiresAt", dateTime, [], c => ((SandboxInfo)c.Source!).Deadline, "When its timeout destroys it (while running).")
            .Field("metadata", keyValue.NonNull().List().NonNull(), c => ((SandboxInfo)c.Source!).Metadata.ToList())
            .Field("error", ScalarType.String, [], c => ((SandboxInfo)c.Source!).Error, "Why it failed, was lost or was destroyed by the silo.");

        var edge = new ObjectType("SandboxEdge")
            .Field("cursor", ScalarType.String.NonNull(), c => ((SandboxInfo)c.Source!).Id)
            .Field("node", sandbox.NonNull(), c => c.Source);
        var pageInfo = new ObjectType("PageInfo")
            .Field("hasNextPage", ScalarType.Boolean.NonNull(), c => ((SandboxPage)c.Source!).HasNextPage)
            .Field("endCursor", ScalarType.String, c => ((SandboxPage)c.Source!).Sandboxes.LastOrDefault()?.Id);
        var connection = new ObjectType("SandboxConnection")
            .Field("edges", edge.NonNull().List().NonNull(), c => ((SandboxPage)c.Source!).Sandboxes)
            .Field("nodes", sandbox.NonNull().List().NonNull(), c => ((SandboxPage)c.Source!).Sandboxes)
            .Field("pageInfo", pageInfo.NonNull(), c => c.Source);

        var fileInfo = new ObjectType("FileInfo")
            .Field("path", ScalarType.String.NonNull(), c => ((FileEntry)c.Source!).Path)
            .Field("name", ScalarType.String.NonNull(), c => ((FileEntry)c.Source!).Name)
            .Field("isDirectory", ScalarType.Boolean.NonNull(), c => ((FileEntry)c.Source!).IsDirectory)
            .Field("size", ScalarType.Float.NonNull(), [], c => (double)((FileEntry)c.Source!).Size, "Bytes (a Float: files may pass 2 GiB).")
            .Field("modifiedAt", dateTime, c => ((FileEntry)c.Source!).ModifiedAt);
        var fileContent = new ObjectType("FileContent")
            .Field("path", ScalarType.String.NonNull(), c => ((FileContentResult)c.Source!).Path)
            .Field("content", ScalarType.String.NonNull(), c => ((FileContentResult)c.Source!).Content)
            .Field("encoding", fileEncoding.NonNull(), c => ((FileContentResult)c.Source!).Encoding)
            .Field("size", ScalarType.Int.NonNull(), c => ((FileContentResult)c.Source!).Size);
        var execResult = new ObjectType("ExecResult")
            .Field("exitCode", ScalarType.Int.NonNull(), c => ((ExecOutcome)c.Source!).ExitCode)
            .Field("stdout", ScalarType.String.NonNull(), c => ((ExecOutcome)c.Source!).Stdout)
            .Field("stderr", ScalarType.String.NonNull(), c => ((ExecOutcome)c.Source!).Stderr);
        var execEvent = new ObjectType("ExecEvent") { Description = "Output as it comes (text cut at line ends), then the exit." }
            .Field("type", execEventType.NonNull(), c => ((ApiExecEvent)c.Source!).Type)
            .Field("data", ScalarType.String, c => ((ApiExecEvent)c.Source!).Data)
            .Field("exitCode", ScalarType.Int, c => ((ApiExecEvent)c.Source!).ExitCode);
        var sandboxEvent = new ObjectType("SandboxEvent")
            .Field("sandbox", sandbox.NonNull(), c => c.Source)
            .Field("state", sandboxState.NonNull(), c => StateName(((SandboxInfo)c.Source!).State));
        var team = new ObjectType("Team")
            .Field("id", ScalarType.ID.NonNull(), c => ((TeamInfo)c.Source!).Id)
            .Field("name", ScalarType.String.NonNull(), c => ((TeamInfo)c.Source!).Name)
            .Field("createdAt", dateTime.NonNull(), c => ((TeamInfo)c.Source!).CreatedAt);
        var newKey = new ObjectType("NewApiKey") { Description = "A new API key: `key` is shown this once and never stored." }
            .Field("id", ScalarType.ID.NonNull(), c => ((NewApiKeyInfo)c.Source!).Id)
            .Field("teamId", ScalarType.ID.NonNull(), c => ((NewApiKeyInfo)c.Source!).TeamId)
            .Field("admin", ScalarType.Boolean.NonNull(), c => ((NewApiKeyInfo)c.Source!).Admin)
            .Field("key", ScalarType.String.NonNull(), c => ((NewApiKeyInfo)c.Source!).Key);

        var createInput = new InputObjectType("CreateSandboxInput")
            .Field("template", ScalarType.String.NonNull(), "A template name (your team's first, then public ones) or id; `base` always exists.")
            .Field("vcpus", ScalarType.Int, "Default: the template's.")
            .Field("memoryMib", ScalarType.Int, "Default: the template's.")
            .Field(new InputValue("timeoutSeconds", ScalarType.Int, "Running time after which the sandbox is destroyed.").WithDefault(300L))
            .Field("metadata", keyValueInput.NonNull().List());

        var execArgs = new List<InputValue>
        {
            new("sandboxId", ScalarType.ID.NonNull()),
            new("command", ScalarType.String.NonNull(), "A program on the guest's PATH, or an absolute path. No shell: use `sh` with `-c` for one."),
            new("args", ScalarType.String.NonNull().List()),
            new("env", envVarInput.NonNull().List()),
            new("cwd", ScalarType.String),
        };

        var query = new ObjectType("Query")
            .Field("sandbox", sandbox, [new InputValue("id", ScalarType.ID.NonNull())], c => ApiErrors.Guard(async () =>
            {
                try
                {
                    return await Call(c).Backend.Sandbox(c.Argument<string>("id")).GetAsync(Call(c).Caller);
                }
                catch (Wrenn.Grains.Errors.GrainException e) when (e.Code == ErrorCodes.NotFound)
                {
                    return null;
                }
            }), "A sandbox of your team, or null.")
            .Field("sandboxes", connection.NonNull(), [
                new InputValue("first", ScalarType.Int).WithDefault(50L),
                new InputValue("after", ScalarType.String, "The endCursor of the previous page."),
                new InputValue("state", sandboxState),
            ], c => ApiErrors.Guard(async () => await Call(c).Backend.ListSandboxesAsync(Call(c).Caller, StateFromName(c.Arguments.GetValueOrDefault("state") as string),
                c.Arguments.GetValueOrDefault("after") as string, c.Argument<int>("first"), c.CancellationToken)), "Your team's sandboxes, newest first.")
            .Field("templates", template.NonNull().List().NonNull(), [], c => ApiErrors.Guard(async () => await Call(c).Backend.TemplatesAsync(Call(c).Caller, c.CancellationToken)),
                "Your team's templates and the public ones.")
            .Field("template", template, [new InputValue("name", ScalarType.String.NonNull())], c => ApiErrors.Guard(async () =>
                await Call(c).Backend.TemplateAsync(Call(c).Caller, c.Argument<string>("name"), c.CancellationToken)))
            .Field("hosts", host.NonNull().List().NonNull(), [], c => ApiErrors.Guard(async () => await Call(c).Backend.HostsAsync(Call(c).Caller, c.CancellationToken)))
            .Field("readFile", fileContent.NonNull(), [
                new InputValue("sandboxId", ScalarType.ID.NonNull()), new InputValue("path", ScalarType.String.NonNull()),
                new InputValue("encoding", fileEncoding).WithDefault("UTF8"),
            ], c => ApiErrors.Guard(async () => await ReadFileAsync(c)), "A file's content (up to 16 MiB; use GET /files for larger ones).")
            .Field("listDir", fileInfo.NonNull().List().NonNull(), [new InputValue("sandboxId", ScalarType.ID.NonNull()), new InputValue("path", ScalarType.String.NonNull())],
                c => ApiErrors.Guard(async () => await Call(c).Backend.Sandbox(c.Argument<string>("sandboxId")).ListDirAsync(Call(c).Caller, c.Argument<string>("path"), c.CancellationToken)))
            .Field("me", team.NonNull(), [], c => ApiErrors.Guard(async () => await Call(c).Backend.TeamAsync(Call(c).Caller, c.CancellationToken)), "Your team.");

        var mutation = new ObjectType("Mutation")
            .Field("createSandbox", sandbox.NonNull(), [new InputValue("input", createInput.NonNull())], c => ApiErrors.Guard(async () =>
            {
                var input = (IReadOnlyDictionary<string, object?>)c.Arguments["input"]!;
                var metadata = (input.GetValueOrDefault("metadata") as List<object?> ?? [])
                    .Cast<IReadOnlyDictionary<string, object?>>().ToDictionary(kv => (string)kv["key"]!, kv => (string)kv["value"]!);
                return await Call(c).Backend.CreateSandboxAsync(Call(c).Caller, new NewSandboxRequest((string)input["template"]!,
                    input.GetValueOrDefault("vcpus") as int? ?? 0, input.GetValueOrDefault("memoryMib") as int? ?? 0,
                    input.GetValueOrDefault("timeoutSeconds") as int? ?? 300, metadata), c.CancellationToken);
            }), "Creates a sandbox and returns once it is RUNNING.")
            .Field("destroySandbox", ScalarType.Boolean.NonNull(), [new InputValue("id", ScalarType.ID.NonNull())], c => ApiErrors.Guard(async () =>
            {
                await Call(c).Backend.Sandbox(c.Argument<string>("id")).DestroyAsync(Call(c).Caller);
                return true;
            }), "Destroys a sandbox; returns once its VM, network and disk are gone. Running commands are cancelled.")
            .Field("pauseSandbox", sandbox.NonNull(), [new InputValue("id", ScalarType.ID.NonNull())], c => ApiErrors.Guard(async () =>
                await Call(c).Backend.Sandbox(c.Argument<string>("id")).PauseAsync(Call(c).Caller)),
                "Snapshots the sandbox to disk and stops its VM: it holds no memory or CPU until resumed. Waits for running commands.")
            .Field("resumeSandbox", sandbox.NonNull(), [new InputValue("id", ScalarType.ID.NonNull())], c => ApiErrors.Guard(async () =>
                await Call(c).Backend.Sandbox(c.Argument<string>("id")).ResumeAsync(Call(c).Caller)),
                "Brings a paused sandbox back exactly as it was.")
            .Field("setSandboxTimeout", sandbox.NonNull(), [new InputValue("id", ScalarType.ID.NonNull()), new InputValue("seconds", ScalarType.Int.NonNull())],
                c => ApiErrors.Guard(async () => await Call(c).Backend.Sandbox(c.Argument<string>("id")).SetTimeoutAsync(Call(c).Caller, c.Argument<int>("seconds"))),
                "The sandbox is destroyed after this many more seconds of running time.")
            .Field("exec", execResult.NonNull(), [.. execArgs, new InputValue("timeoutSeconds", ScalarType.Int)], c => ApiErrors.Guard(async () =>
                await Call(c).Backend.Sandbox(c.Argument<string>("sandboxId")).ExecAsync(Call(c).Caller, ExecRequestOf(c), c.CancellationToken)),
                "Runs a command to its end and returns its exit code and output.")
            .Field("writeFile", fileInfo.NonNull(), [
                new InputValue("sandboxId", ScalarType.ID.NonNull()), new InputValue("path", ScalarType.String.NonNull()),
                new InputValue("content", ScalarType.String.NonNull()), new InputValue("encoding", fileEncoding).WithDefault("UTF8"),
            ], c => ApiErrors.Guard(async () =>
            {
                var content = c.Argument<string>("encoding") == "BASE64" ? FromBase64(c.Argument<string>("content")) : Encoding.UTF8.GetBytes(c.Argument<string>("content"));
                return await Call(c).Backend.Sandbox(c.Argument<string>("sandboxId")).WriteFileAsync(Call(c).Caller, c.Argument<string>("path"), content, c.CancellationToken);
            }), "Writes a file (parents are created); use PUT /files for large ones.")
            .Field("createTemplateFromSandbox", template.NonNull(), [new InputValue("sandboxId", ScalarType.ID.NonNull()), new InputValue("name", ScalarType.String.NonNull())],
                c => ApiErrors.Guard(async () => await Call(c).Backend.Sandbox(c.Argument<string>("sandboxId")).CreateTemplateAsync(Call(c).Caller, c.Argument<string>("name"))),
                "Freezes a running sandbox into a template (it goes on running); sandboxes from it start in that state.")
            .Field("deleteTemplate", ScalarType.Boolean.NonNull(), [new InputValue("name", ScalarType.String.NonNull())], c => ApiErrors.Guard(async () =>
            {
                await Call(c).Backend.DeleteTemplateAsync(Call(c).Caller, c.Argument<string>("name"), c.CancellationToken);
                return true;
            }), "Refused while sandboxes use the template.")
            .Field("createTeam", team.NonNull(), [new InputValue("name", ScalarType.String.NonNull())], c => ApiErrors.Guard(async () =>
                await Call(c).Backend.CreateTeamAsync(Call(c).Caller, c.Argument<string>("name"), c.CancellationToken)), "Admin keys only.")
            .Field("createApiKey", newKey.NonNull(), [new InputValue("team", ScalarType.String.NonNull(), "Team name or id."), new InputValue("admin", ScalarType.Boolean).WithDefault(false)],
                c => ApiErrors.Guard(async () => await Call(c).Backend.CreateApiKeyAsync(Call(c).Caller, c.Argument<string>("team"), c.Argument<bool>("admin"), c.CancellationToken)),
                "Admin keys only. The key is returned this once.")
            .Field("revokeApiKey", ScalarType.Boolean.NonNull(), [new InputValue("id", ScalarType.ID.NonNull())], c => ApiErrors.Guard(async () =>
                await Call(c).Backend.RevokeApiKeyAsync(Call(c).Caller, c.Argument<string>("id"), c.CancellationToken)), "Admin keys only.");

        var subscription = new ObjectType("Subscription")
            .SubscriptionField("execStream", execEvent.NonNull(), execArgs, ExecStream,
                "Runs a command and streams its output as it comes, then EXIT. Closing the subscription kills the command's process group.")
            .SubscriptionField("sandboxEvents", sandboxEvent.NonNull(), [new InputValue("sandboxId", ScalarType.ID)], SandboxEvents,
                "Changes of state of one sandbox, or of all your team's sandboxes.");

        return new GraphQLSchema(query, mutation, subscription) { Description = "Wrenn: microVM sandboxes for untrusted code." };
    }

    private sealed record FileContentResult(string Path, string Content, string Encoding, int Size);

    private sealed record ApiExecEvent(string Type, string? Data, int? ExitCode);

    private static ExecRequest ExecRequestOf(ResolveContext c)
    {
        var env = (c.Arguments.GetValueOrDefault("env") as List<object?> ?? [])
            .Cast<IReadOnlyDictionary<string, object?>>().ToDictionary(e => (string)e["name"]!, e => (string)e["value"]!);
        var args = (c.Arguments.GetValueOrDefault("args") as List<object?> ?? []).Cast<string>().ToList();
        return new ExecRequest(c.Argument<string>("command"), args, env, c.Arguments.GetValueOrDefault("cwd") as string,
            c.Arguments.GetValueOrDefault("timeoutSeconds") as int?);
    }

    private static byte[] FromBase64(string text)
    {
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw ApiErrors.Error("BAD_USER_INPUT", "content is not valid base64 (encoding: BASE64).");
        }
    }

    private const int MaxReadBytes = 16 * 1024 * 1024;

    private static async Task<object?> ReadFileAsync(ResolveContext c)
    {
        var path = c.Argument<string>("path");
        var bytes = new MemoryStream();
        await foreach (var chunk in Call(c).Backend.Sandbox(c.Argument<string>("sandboxId")).ReadFileAsync(Call(c).Caller, path, c.CancellationToken))
        {
            bytes.Write(chunk);
            if (bytes.Length > MaxReadBytes)
                throw ApiErrors.Error("BAD_USER_INPUT", $"{path} is larger than 16 MiB; download it with GET /files/{c.Argument<string>("sandboxId")}?path=… instead.");
        }
        var data = bytes.ToArray();
        var encoding = c.Argument<string>("encoding");
        if (encoding == "UTF8")
        {
            try
            {
                return new FileContentResult(path, new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(data), encoding, data.Length);
            }
            catch (DecoderFallbackException)
            {
                throw ApiErrors.Error("BAD_USER_INPUT", $"{path} is not UTF-8 text; read it with encoding: BASE64.");
            }
        }
        return new FileContentResult(path, Convert.ToBase64String(data), encoding, data.Length);
    }

    private static async IAsyncEnumerable<object?> ExecStream(ResolveContext c)
    {
        var call = Call(c);
        var stdout = new OutputLines();
        var stderr = new OutputLines();
        await using var events = call.Backend.Sandbox(c.Argument<string>("sandboxId"))
            .ExecStreamAsync(call.Caller, ExecRequestOf(c), c.CancellationToken).GetAsyncEnumerator(c.CancellationToken);
        while (true)
        {
            ExecEvent next;
            try
            {
                if (!await events.MoveNextAsync())
                    yield break;
                next = events.Current;
            }
            catch (Wrenn.Grains.Errors.GrainException e)
            {
                throw ApiErrors.From(e);
            }
            switch (next.Kind)
            {
                case ExecEventKind.Stdout when stdout.Add(next.Data) is { } text:
                    yield return new ApiExecEvent("STDOUT", text, null);
                    break;
                case ExecEventKind.Stderr when stderr.Add(next.Data) is { } text:
                    yield return new ApiExecEvent("STDERR", text, null);
                    break;
                case ExecEventKind.Exited:
                    if (stdout.Flush() is { } restOut)
                        yield return new ApiExecEvent("STDOUT", restOut, null);
                    if (stderr.Flush() is { } restErr)
                        yield return new ApiExecEvent("STDERR", restErr, null);
                    yield return new ApiExecEvent("EXIT", null, next.ExitCode);
                    yield break;
            }
        }
    }

    private static IAsyncEnumerable<object?> SandboxEvents(ResolveContext c) => PollSandboxEvents(c);

    private static async IAsyncEnumerable<object?> PollSandboxEvents(ResolveContext c, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var call = Call(c);
        var id = c.Arguments.GetValueOrDefault("sandboxId") as string;
        var known = new Dictionary<string, SandboxState>();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(c.CancellationToken, cancellationToken);
        var first = true;
        while (!linked.IsCancellationRequested)
        {
            IReadOnlyList<SandboxInfo> now;
            try
            {
                now = id is not null
                    ? [await call.Backend.Sandbox(id).GetAsync(call.Caller)]
                    : (await call.Backend.ListSandboxesAsync(call.Caller, null, null, 500, linked.Token)).Sandboxes;
            }
            catch (Wrenn.Grains.Errors.GrainException e)
            {
                throw ApiErrors.From(e);
            }
            foreach (var s in now)
            {
                if (!known.TryGetValue(s.Id, out var before) || before != s.State)
                {
                    known[s.Id] = s.State;
                    if (!first || id is not null)
                        yield return s;
                }
            }
            first = false;
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), linked.Token);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
        }
    }
}
