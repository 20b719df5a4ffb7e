namespace Wrenn.Plugins.Vmm.Qemu;

/// <summary>Configuration of the QEMU VMM plugin (<c>Wrenn:Plugins:qemu</c>).</summary>
public sealed class QemuOptions
{
    /// <summary>The QEMU system emulator to run.</summary>
    public string Binary { get; set; } = "qemu-system-x86_64";

    /// <summary>
    /// <c>auto</c> (default): KVM if a guest kernel boots on it, else TCG; <c>kvm</c>; <c>tcg</c>.
    /// Some hosts expose /dev/kvm through a nested hypervisor on which a normal guest kernel hangs,
    /// so <c>auto</c> boots a probe once per host boot and remembers the answer under /run/wrenn.
    /// </summary>
    public string Accelerator { get; set; } = "auto";

    /// <summary>How long the KVM probe may take before KVM is judged unusable.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a stopping VM gets to quit before it is killed.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
