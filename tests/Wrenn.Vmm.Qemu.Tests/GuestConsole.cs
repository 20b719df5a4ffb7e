using Wrenn.Silo.Sandboxes;

namespace Wrenn.Vmm.Qemu.Tests;

internal static class GuestConsole
{
    /// <summary>Runs assertions against a VM; a failure quotes the guest console log.</summary>
    public static async Task QuoteOnFailureAsync(SandboxVm sandbox, Func<Task> assertions)
    {
        try
        {
            await assertions();
        }
        catch (Exception e)
        {
            var console = File.Exists(sandbox.Vm.ConsoleLogPath) ? await File.ReadAllTextAsync(sandbox.Vm.ConsoleLogPath) : "(no console log)";
            throw new Xunit.Sdk.XunitException($"{e.Message}\n--- guest console of {sandbox.SandboxId} ---\n{console}", e);
        }
    }
}
