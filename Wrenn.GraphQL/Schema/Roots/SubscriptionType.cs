using System.Runtime.CompilerServices;
using GraphQL;
using GraphQL.Types;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Execution;
using Wrenn.GraphQL.Schema.Types;

namespace Wrenn.GraphQL.Schema.Roots;

public sealed class SubscriptionType : ObjectGraphType
{
    public SubscriptionType()
    {
        Name = "Subscription";
        ExecArguments.AddTo(Field<NonNullGraphType<ExecEventType>, ExecStreamEvent>("execStream")
                .Description("Runs a command and streams its output as it comes, then EXIT. Closing the subscription kills the command's process group."), stdin: true)
            .ResolveStream(c => new AsyncEnumerableObservable<ExecStreamEvent>(token => ExecStreamAsync(c, token), c.Api().Credits));
        ProcessRoots.AddSubscriptions(this);
        Field<NonNullGraphType<FileEventType>, FileChange>("watchDir")
            .Description("Changes under a folder (and with recursive, every folder below it, also ones made later), from the moment the watch is in place. Closing the subscription removes the watch; it completes when the sandbox pauses.")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<NonNullGraphType<StringGraphType>>("path")
            .Argument<BooleanGraphType>("recursive", a => a.DefaultValue = false)
            .ResolveStream(c => new AsyncEnumerableObservable<FileChange>(token => c.Api().Backend.Sandbox(c.GetArgument<string>("sandboxId"))
                .WatchDirAsync(c.Api().Caller, c.GetArgument<string>("path"), c.GetArgument("recursive", false), token), c.Api().Credits));
        Field<NonNullGraphType<SandboxEventType>, SandboxInfo>("sandboxEvents").Description("Changes of state of one sandbox, or of all your team's sandboxes.")
            .Argument<IdGraphType>("sandboxId")
            .ResolveStream(c => new AsyncEnumerableObservable<SandboxInfo>(token => SandboxEventsAsync(c, token), c.Api().Credits));
    }

    private static async IAsyncEnumerable<ExecStreamEvent> ExecStreamAsync(IResolveFieldContext c, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var api = c.Api();
        var stdout = new OutputLines();
        var stderr = new OutputLines();
        await foreach (var next in api.Backend.Sandbox(c.GetArgument<string>("sandboxId")).ExecStreamAsync(api.Caller, ExecArguments.Read(c), cancellationToken)
            .WithCancellation(cancellationToken))
        {
            switch (next.Kind)
            {
                case ExecEventKind.Stdout when stdout.Add(next.Data) is { } text:
                    yield return new ExecStreamEvent(ExecStreamEventKind.Stdout, text, null);
                    break;
                case ExecEventKind.Stderr when stderr.Add(next.Data) is { } text:
                    yield return new ExecStreamEvent(ExecStreamEventKind.Stderr, text, null);
                    break;
                case ExecEventKind.Exited:
                    if (stdout.Flush() is { } restOut)
                        yield return new ExecStreamEvent(ExecStreamEventKind.Stdout, restOut, null);
                    if (stderr.Flush() is { } restErr)
                        yield return new ExecStreamEvent(ExecStreamEventKind.Stderr, restErr, null);
                    yield return new ExecStreamEvent(ExecStreamEventKind.Exit, null, next.ExitCode);
                    yield break;
            }
        }
    }

    /// <summary>
    /// State changes pushed by the backend as records are written: nothing is asked while nothing
    /// changes. For one sandbox, its state now comes first (listening starts before it is read, so no
    /// change falls between the two).
    /// </summary>
    private static async IAsyncEnumerable<SandboxInfo> SandboxEventsAsync(IResolveFieldContext c, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var api = c.Api();
        var id = c.GetArgument<string?>("sandboxId");
        var changes = api.Backend.SandboxChangesAsync(api.Caller, id, cancellationToken);
        SandboxState? last = null;
        if (id is not null)
        {
            var now = await api.Backend.Sandbox(id).GetAsync(api.Caller);
            last = now.State;
            yield return now;
        }
        await foreach (var change in changes.WithCancellation(cancellationToken))
        {
            if (!change.StateChanged || (id is not null && change.Sandbox.State == last))
                continue;
            last = change.Sandbox.State;
            yield return change.Sandbox;
        }
    }
}
