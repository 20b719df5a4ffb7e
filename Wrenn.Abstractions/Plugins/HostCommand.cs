using System.Diagnostics;
using System.Text;

namespace Wrenn.Abstractions.Plugins;

/// <summary>
/// Runs a host tool (ip, nft, qemu-img …) to its end. Plugins drive the host through such tools;
/// a failure carries the command line and the tool's own error output, which is what a user needs
/// to act on.
/// </summary>
public static class HostCommand
{
    /// <summary>Runs <paramref name="program"/> and returns its standard output; throws <see cref="HostCommandException"/> on a non-zero exit.</summary>
    public static async Task<string> RunAsync(string program, IEnumerable<string> args, CancellationToken cancellationToken, string? stdin = null)
    {
        var result = await TryRunAsync(program, args, cancellationToken, stdin);
        if (result.ExitCode != 0)
            throw new HostCommandException(result);
        return result.Stdout;
    }

    /// <summary>Runs <paramref name="program"/> and returns its outcome, whatever the exit code.</summary>
    public static async Task<HostCommandResult> TryRunAsync(string program, IEnumerable<string> args, CancellationToken cancellationToken, string? stdin = null)
    {
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        var commandLine = program + " " + string.Join(' ', start.ArgumentList);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin.AsMemory(), cancellationToken);
            process.StandardInput.Close();
        }
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new HostCommandResult(commandLine, process.ExitCode, await stdout, await stderr);
    }
}

/// <summary>What a host command did.</summary>
public sealed record HostCommandResult(string CommandLine, int ExitCode, string Stdout, string Stderr);

/// <summary>A host command failed; the message quotes it and its error output.</summary>
public sealed class HostCommandException(HostCommandResult result)
    : Exception(Describe(result))
{
    public HostCommandResult Result { get; } = result;

    private static string Describe(HostCommandResult result)
    {
        var text = new StringBuilder($"'{result.CommandLine}' failed with exit code {result.ExitCode}");
        var error = (result.Stderr.Trim().Length > 0 ? result.Stderr : result.Stdout).Trim();
        if (error.Length > 0)
            text.Append(": ").Append(error.Length > 2000 ? error[..2000] + "…" : error);
        return text.ToString();
    }
}
