using System.Runtime.CompilerServices;
using System.Text;
using GraphQL;
using GraphQL.Types;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Execution;
using Wrenn.GraphQL.Schema.Types;

namespace Wrenn.GraphQL.Schema.Roots;

/// <summary>
/// The root fields of processes that outlive a call (startProcess, processes, processOutput, input,
/// resize, signals), added to the roots by <see cref="QueryType"/>, <see cref="MutationType"/> and
/// <see cref="SubscriptionType"/>.
/// </summary>
internal static class ProcessRoots
{
    public static void AddQueries(ObjectGraphType query) =>
        query.Field<NonNullGraphType<ListGraphType<NonNullGraphType<ProcessType>>>, IReadOnlyList<ProcessEntry>>("processes")
            .Description("The processes the sandbox's agent started: running ones, and those that ended in the last 10 minutes.")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .ResolveAsync(async c => await c.Api().Backend.Sandbox(c.GetArgument<string>("sandboxId")).ListProcessesAsync(c.Api().Caller, c.CancellationToken));

    public static void AddMutations(ObjectGraphType mutation)
    {
        ExecArguments.AddTo(mutation.Field<NonNullGraphType<ProcessType>, ProcessEntry>("startProcess")
                .Description("Starts a process and returns at once; it runs on after this call, keeps its input open and survives pause and resume. Attach with processOutput."), stdin: false)
            .Argument<PtyInputType>("pty", "Run it on a pseudo-terminal of this size.")
            .Argument<StringGraphType>("tag", "A label of yours, shown by processes.")
            .Argument<IntGraphType>("timeoutSeconds", "Kill it after this long.")
            .ResolveAsync(async c => await c.Api().Backend.Sandbox(c.GetArgument<string>("sandboxId")).StartProcessAsync(c.Api().Caller, ExecArguments.ReadProcess(c), c.CancellationToken));
        mutation.Field<NonNullGraphType<BooleanGraphType>, bool>("sendInput").Description("Writes to a process's standard input (on a terminal: typed keys).")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<NonNullGraphType<IntGraphType>>("pid")
            .Argument<NonNullGraphType<StringGraphType>>("data")
            .Argument<FileEncodingType>("encoding", a => a.DefaultValue = FileEncoding.Utf8)
            .ResolveAsync(async c =>
            {
                var text = c.GetArgument<string>("data");
                var data = c.GetArgument("encoding", FileEncoding.Utf8) == FileEncoding.Base64 ? Base64Argument.Decode(text, "data") : Encoding.UTF8.GetBytes(text);
                await c.Api().Backend.Sandbox(c.GetArgument<string>("sandboxId")).SendInputAsync(c.Api().Caller, c.GetArgument<int>("pid"), data, c.CancellationToken);
                return true;
            });
        mutation.Field<NonNullGraphType<BooleanGraphType>, bool>("closeInput").Description("Closes a process's standard input: it reads end of file. A terminal has none: send ^D.")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<NonNullGraphType<IntGraphType>>("pid")
            .ResolveAsync(async c =>
            {
                await c.Api().Backend.Sandbox(c.GetArgument<string>("sandboxId")).CloseInputAsync(c.Api().Caller, c.GetArgument<int>("pid"), c.CancellationToken);
                return true;
            });
        mutation.Field<NonNullGraphType<BooleanGraphType>, bool>("resizeTerminal").Description("Sets the size of a process's terminal (1 to 1000 each way); it gets SIGWINCH.")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<NonNullGraphType<IntGraphType>>("pid")
            .Argument<NonNullGraphType<IntGraphType>>("cols")
            .Argument<NonNullGraphType<IntGraphType>>("rows")
            .ResolveAsync(async c =>
            {
                await c.Api().Backend.Sandbox(c.GetArgument<string>("sandboxId"))
                    .ResizeTerminalAsync(c.Api().Caller, c.GetArgument<int>("pid"), new TerminalSize(c.GetArgument<int>("cols"), c.GetArgument<int>("rows")), c.CancellationToken);
                return true;
            });
        mutation.Field<NonNullGraphType<BooleanGraphType>, bool>("signalProcess").Description("Sends a signal to a process's whole group.")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<NonNullGraphType<IntGraphType>>("pid")
            .Argument<NonNullGraphType<SignalType>>("signal")
            .ResolveAsync(async c =>
            {
                await c.Api().Backend.Sandbox(c.GetArgument<string>("sandboxId")).SignalProcessAsync(c.Api().Caller, c.GetArgument<int>("pid"), c.GetArgument<ProcessSignal>("signal"), c.CancellationToken);
                return true;
            });
    }

    public static void AddSubscriptions(ObjectGraphType subscription) =>
        subscription.Field<NonNullGraphType<ProcessEventType>, ProcessStreamEvent>("processOutput")
            .Description("Attaches to a process: the retained last 1 MiB of its output, then output as it comes, then EXIT. Closing the subscription never touches the process; it completes when the sandbox pauses.")
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<NonNullGraphType<IntGraphType>>("pid")
            .ResolveStream(c => new AsyncEnumerableObservable<ProcessStreamEvent>(token => OutputAsync(c, token), c.Api().Credits));

    /// <summary>Terminal bytes as base64, one event per piece the agent sent; text streams cut at line ends, as execStream does.</summary>
    private static async IAsyncEnumerable<ProcessStreamEvent> OutputAsync(IResolveFieldContext c, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var api = c.Api();
        var stdout = new OutputLines();
        var stderr = new OutputLines();
        await foreach (var next in api.Backend.Sandbox(c.GetArgument<string>("sandboxId")).AttachProcessAsync(api.Caller, c.GetArgument<int>("pid"), cancellationToken)
            .WithCancellation(cancellationToken))
        {
            switch (next.Kind)
            {
                case ProcessOutputKind.Pty:
                    yield return new ProcessStreamEvent(ProcessStreamEventKind.Pty, Convert.ToBase64String(next.Data ?? []), FileEncoding.Base64, null);
                    break;
                case ProcessOutputKind.Stdout when stdout.Add(next.Data) is { } text:
                    yield return Text(ProcessStreamEventKind.Stdout, text);
                    break;
                case ProcessOutputKind.Stderr when stderr.Add(next.Data) is { } text:
                    yield return Text(ProcessStreamEventKind.Stderr, text);
                    break;
                case ProcessOutputKind.Exited:
                    foreach (var rest in Flush(stdout, stderr))
                        yield return rest;
                    yield return new ProcessStreamEvent(ProcessStreamEventKind.Exit, null, null, next.ExitCode);
                    yield break;
            }
        }
        // Ended without an exit (the sandbox paused or was destroyed): what was said of a line is not held back.
        foreach (var rest in Flush(stdout, stderr))
            yield return rest;
    }

    private static IEnumerable<ProcessStreamEvent> Flush(OutputLines stdout, OutputLines stderr)
    {
        if (stdout.Flush() is { } restOut)
            yield return Text(ProcessStreamEventKind.Stdout, restOut);
        if (stderr.Flush() is { } restErr)
            yield return Text(ProcessStreamEventKind.Stderr, restErr);
    }

    private static ProcessStreamEvent Text(ProcessStreamEventKind kind, string text) => new(kind, text, FileEncoding.Utf8, null);
}
