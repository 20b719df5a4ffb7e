using System.Text;
using GraphQL;
using GraphQL.Builders;
using GraphQL.Types;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Schema.Types;

namespace Wrenn.GraphQL.Schema.Roots;

/// <summary>The arguments <c>exec</c>, <c>execStream</c> and <c>startProcess</c> share, and the requests they make.</summary>
internal static class ExecArguments
{
    /// <summary>sandboxId, command, args, env, cwd, and for a command run to its end, stdin.</summary>
    public static FieldBuilder<TSource, TReturn> AddTo<TSource, TReturn>(FieldBuilder<TSource, TReturn> field, bool stdin)
    {
        field
            .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
            .Argument<NonNullGraphType<StringGraphType>>("command", "A program on the guest's PATH, or an absolute path. No shell: use `sh` with `-c` for one.")
            .Argument<ListGraphType<NonNullGraphType<StringGraphType>>>("args")
            .Argument<ListGraphType<NonNullGraphType<EnvVarInputType>>>("env")
            .Argument<StringGraphType>("cwd");
        return stdin ? field.Argument<StringGraphType>("stdin", "Written to the command's standard input, which is then closed.") : field;
    }

    public static ExecRequest Read(IResolveFieldContext c) =>
        new(c.GetArgument<string>("command"), Args(c), Env(c), c.GetArgument<string?>("cwd"),
            Stdin: c.GetArgument<string?>("stdin") is { } stdin ? Encoding.UTF8.GetBytes(stdin) : null);

    public static ProcessStart ReadProcess(IResolveFieldContext c) =>
        new(c.GetArgument<string>("command"), Args(c), Env(c), c.GetArgument<string?>("cwd"),
            c.GetArgument<PtyInput?>("pty") is { } pty ? new TerminalSize(pty.Cols, pty.Rows) : null,
            c.GetArgument<string?>("tag"), c.GetArgument<int?>("timeoutSeconds"));

    private static List<string> Args(IResolveFieldContext c) => c.GetArgument<List<string>?>("args") ?? [];

    private static Dictionary<string, string> Env(IResolveFieldContext c)
    {
        var env = new Dictionary<string, string>();
        foreach (var variable in c.GetArgument<List<EnvVarInput>?>("env") ?? [])
            env[variable.Name] = variable.Value;
        return env;
    }
}
