using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Plugins.Vmm.Qemu;

/// <summary>
/// Decides between KVM and TCG. /dev/kvm existing is not enough: behind some nested hypervisors a
/// normal guest kernel hangs on KVM, or QEMU fails to set up the vCPU. So boot the guest kernel once
/// under KVM with no root disk: on a working KVM the kernel gets as far as panicking for want of a
/// root filesystem within a second or two; a hang runs into the timeout, and a QEMU that exits
/// without that panic on its console did not run the kernel either. The answer holds until the host reboots, so it is kept under /run/wrenn.
/// </summary>
public sealed partial class AcceleratorProbe(QemuOptions options, PluginHost host, ILogger logger)
{
    private readonly SemaphoreSlim _once = new(1, 1);
    private string? _answer;

    public async Task<string> ChooseAsync(KernelImage kernel, CancellationToken cancellationToken)
    {
        if (options.Accelerator is "kvm" or "tcg")
            return options.Accelerator;
        if (_answer is not null)
            return _answer;
        await _once.WaitAsync(cancellationToken);
        try
        {
            if (_answer is not null)
                return _answer;
            var cacheFile = Path.Combine(host.MachineRuntimeDir, "qemu-accelerator");
            if (File.Exists(cacheFile) && File.ReadAllText(cacheFile).Trim() is "kvm" or "tcg")
                return _answer = File.ReadAllText(cacheFile).Trim();
            _answer = File.Exists("/dev/kvm") && await KvmBootsAsync(kernel, cancellationToken) ? "kvm" : "tcg";
            Directory.CreateDirectory(host.MachineRuntimeDir);
            await File.WriteAllTextAsync(cacheFile, _answer, cancellationToken);
            LogChosen(_answer);
            return _answer;
        }
        finally
        {
            _once.Release();
        }
    }

    private async Task<bool> KvmBootsAsync(KernelImage kernel, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(options.Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[]
                 {
                     "-M", "microvm,accel=kvm", "-cpu", "host", "-m", "128", "-nodefaults", "-no-user-config",
                     "-display", "none", "-no-reboot", "-serial", "stdio", "-kernel", kernel.KernelPath,
                     "-append", "console=ttyS0 panic=-1 loglevel=1",
                 })
            start.ArgumentList.Add(arg);
        using var probe = Process.Start(start)!;
        var console = probe.StandardOutput.ReadToEndAsync(cancellationToken);
        _ = probe.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ProbeTimeout);
        try
        {
            await probe.WaitForExitAsync(timeout.Token);
            return (await console).Contains("Kernel panic", StringComparison.Ordinal);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            probe.Kill();
            await probe.WaitForExitAsync(CancellationToken.None);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "QEMU accelerator: {Accelerator} (probed once per host boot; set Wrenn:Plugins:qemu:Accelerator to override)")]
    private partial void LogChosen(string accelerator);
}
