using System.Diagnostics;
using Wrenn.Testing;

namespace Wrenn.GraphQL.Tests;

/// <summary>graphql-js (tests/node/graphql-diff), run with node.</summary>
public static class NodeScripts
{
    /// <summary>Runs a script with <paramref name="stdin"/>; returns its stdout, failing with its stderr if it fails.</summary>
    public static async Task<string> RunAsync(string script, string stdin, params string[] args)
    {
        var start = new ProcessStartInfo("node", [Path.Combine(RepoPaths.NodeTests, "graphql-diff", script), .. args])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            WorkingDirectory = Path.Combine(RepoPaths.NodeTests, "graphql-diff"),
        };
        using var node = Process.Start(start)!;
        await node.StandardInput.WriteAsync(stdin);
        node.StandardInput.Close();
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, $"node {script} failed (is `npm ci` done in tests/node?): {await stderr}");
        return await stdout;
    }

    /// <summary>graphql-js's getIntrospectionQuery with every option Wrenn's round trip uses.</summary>
    public static Task<string> IntrospectionQueryAsync() => RunAsync("introspection.mjs", "", "query");
}
