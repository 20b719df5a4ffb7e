using System.CommandLine;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Plugins;
using Wrenn.Silo.Sandboxes;

namespace Wrenn.Silo.Cli;

/// <summary>
/// <c>wrenn demo</c>: boots one VM in its own network namespace, runs <c>echo hello</c> in it through
/// the guest agent, prints the output and tears everything down. Progress goes to stderr; stdout
/// carries only what the command printed.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var verbose = new Option<bool>("--verbose") { Description = "Log every step." };
        var command = new Command("demo", "Boot a VM, run `echo hello` in it through the agent, print the output, clean up.") { verbose };
        command.SetAction((parse, cancellationToken) => RunAsync(parse.GetValue(verbose), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(bool verbose, CancellationToken cancellationToken)
    {
        using var loggers = LoggerFactory.Create(b => b
            .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
            .SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Warning));
        // Console logs go to stdout by default; the demo's stdout is the command's output alone.
        Console.SetOut(new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true });

        var owner = "wd" + RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 4);
        var runtimeDir = Path.Combine(WrennPaths.MachineRuntimeDir, owner);
        var host = new PluginHost(owner, runtimeDir, runtimeDir, WrennPaths.MachineRuntimeDir, WrennPaths.CacheDir);
        var vms = LocalPlugins.Create(host, loggers).BootOnly(loggers);
        try
        {
            var image = GuestImage.FromDirectory(WrennPaths.ImageDir);
            var sandboxId = Wrenn.Grains.Ids.SandboxId.New().ToString();
            await Console.Error.WriteLineAsync($"demo: booting {sandboxId} ({image.Kernel.KernelPath})");
            var sandbox = await vms.CreateAsync(sandboxId, image, new VmSize(1, 256), cancellationToken);
            try
            {
                using var agent = sandbox.Agent();
                var result = await agent.ExecAsync("echo", ["hello"], cancellationToken);
                await Console.Out.WriteAsync(result.StdoutText);
                await Console.Error.WriteLineAsync($"demo: `echo hello` exited with {result.ExitCode}");
                return result.ExitCode;
            }
            finally
            {
                await Console.Error.WriteLineAsync("demo: tearing down");
                await vms.DestroyAsync(sandbox, CancellationToken.None);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"demo: {e.Message}");
            if (e is Abstractions.Vmm.VmmException { ConsoleTail: { Length: > 0 } tail })
                await Console.Error.WriteLineAsync("guest console (last lines):\n" + tail);
            return 1;
        }
        finally
        {
            if (Directory.Exists(runtimeDir))
                Directory.Delete(runtimeDir, recursive: true);
        }
    }
}
