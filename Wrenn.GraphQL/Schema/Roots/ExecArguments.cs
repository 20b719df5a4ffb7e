using GraphQL;
using GraphQL.Builders;
using GraphQL.Types;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Schema.Types;

namespace Wrenn.GraphQL.Schema.Roots;

/// <summary>The arguments <c>exec</c> and <c>execStream</c> share, and the request they make.</summary>
internal static class ExecArguments
{
    public static FieldBuilder<TSource, TReturn> AddTo<TSource, TReturn>(FieldBuilder<TSource, TReturn> field) => field
        .Argument<NonNullGraphType<IdGraphType>>("sandboxId")
        .Argument<NonNullGraphType<StringGraphType>>("command", "A program on the guest's PATH, or an absolute path. No shell: use `sh` with `-c` for one.")
        .Argument<ListGraphType<NonNullGraphType<StringGraphType>>>("args")
        .Argument<ListGraphType<NonNullGraphType<EnvVarInputType>>>("env")
        .Argument<StringGraphType>("cwd");

    public static ExecRequest Read(IResolveFieldContext c)
    {
        var env = new Dictionary<string, string>();
        foreach (var variable in c.GetArgument<List<EnvVarInput>?>("env") ?? [])
            env[variable.Name] = variable.Value;
        return new ExecRequest(c.GetArgument<string>("command"), c.GetArgument<List<string>?>("args") ?? [], env, c.GetArgument<string?>("cwd"));
    }
}
