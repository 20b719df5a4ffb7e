using Microsoft.Extensions.Options;
using Wrenn.Plugins.Jail;

namespace Wrenn.Plugins.Vmm.Qemu;

/// <summary>Configuration of the QEMU VMM plugin (<c>Wrenn:Plugins:qemu</c>).</summary>
public sealed class QemuOptions
{
    public const string Section = "Wrenn:Plugins:qemu";

    /// <summary>The QEMU system emulator to run: a path, or a name looked up on PATH.</summary>
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

    /// <summary>How long a starting QEMU gets to answer on QMP.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The size of TCG's translation cache in MiB (<c>-accel tcg,tb-size=N</c>). QEMU's default
    /// grows to 1 GiB per VM; fixed, it bounds the emulator's own memory, which the VM's cgroup
    /// allows for (<see cref="MemoryOverheadMib"/>). Ignored under KVM. 64 stays the default: an idle
    /// VM touches only ~22–26 MiB of it, and 16 or 8 MiB (9 or 19 MiB less per idle VM) made a
    /// CPU-bound exec 2–3× or ~9× slower (bench/results/density.md, 2026-12-02).
    /// </summary>
    public int TcgTranslationCacheMib { get; set; } = 64;

    /// <summary>
    /// What the VM's cgroup allows beyond guest RAM: QEMU's own memory (the translation cache under
    /// TCG, its heap, device buffers) and the page cache its disk I/O pulls in (reclaimable).
    /// Measured under TCG with the default translation cache (docs/ARCHITECTURE.md, "The jail").
    /// </summary>
    public int MemoryOverheadMib { get; set; } = 192;

    /// <summary>
    /// glibc's <c>MALLOC_ARENA_MAX</c> in QEMU's environment; null (the default) leaves glibc's
    /// (8 arenas per core). Measured at 2 it saved nothing on an idle VM (bench/results/density.md):
    /// QEMU's idle heap is not in its threads' arenas; kept as a setting for hosts with many vCPUs.
    /// </summary>
    public int? MallocArenaMax { get; set; }

    /// <summary>
    /// The host memory the silo reserves per VM beyond guest RAM (<see cref="Wrenn.Abstractions.Vmm.IVmm.HostOverheadMib"/>):
    /// what an idle VM's QEMU and jail init hold besides the guest's pages (PSS from smaps), measured
    /// by <c>bench/Wrenn.Bench.Vm -- density</c> with the default translation cache (bench/results/density.md,
    /// 2026-12-02: median 56.6–59.4 MiB, at most 62.6, over two runs of 6 idle VMs under TCG).
    /// At most <see cref="MemoryOverheadMib"/>, the ceiling its cgroup allows.
    /// </summary>
    public int ReservedOverheadMib { get; set; } = 64;

    /// <summary>The jail each QEMU runs in (<c>Wrenn:Plugins:qemu:Jail</c>).</summary>
    public JailOptions Jail { get; set; } = new();

    /// <summary>The binary as a full path, or null when it cannot be found.</summary>
    public string? ResolveBinary()
    {
        if (Binary.Contains('/'))
            return File.Exists(Binary) ? Path.GetFullPath(Binary) : null;
        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, Binary)).FirstOrDefault(File.Exists);
    }
}

/// <summary>Checks <see cref="QemuOptions"/> at start, naming each bad setting.</summary>
public sealed class QemuOptionsValidator : IValidateOptions<QemuOptions>
{
    public ValidateOptionsResult Validate(string? name, QemuOptions options)
    {
        var problems = new List<string>(options.Jail.Problems($"{QemuOptions.Section}:Jail"));
        if (options.Accelerator is not ("auto" or "kvm" or "tcg"))
            problems.Add($"{QemuOptions.Section}:Accelerator must be auto, kvm or tcg, got '{options.Accelerator}'.");
        if (options.TcgTranslationCacheMib is < 8 or > 4096)
            problems.Add($"{QemuOptions.Section}:TcgTranslationCacheMib must be between 8 and 4096, got {options.TcgTranslationCacheMib}.");
        if (options.ReservedOverheadMib < 0 || options.ReservedOverheadMib > options.MemoryOverheadMib)
            problems.Add($"{QemuOptions.Section}:ReservedOverheadMib must be between 0 and MemoryOverheadMib ({options.MemoryOverheadMib}), got {options.ReservedOverheadMib}.");
        if (options.MallocArenaMax is < 1 or > 64)
            problems.Add($"{QemuOptions.Section}:MallocArenaMax must be between 1 and 64 when set, got {options.MallocArenaMax}.");
        if (options.MemoryOverheadMib < 16)
            problems.Add($"{QemuOptions.Section}:MemoryOverheadMib must be at least 16, got {options.MemoryOverheadMib}.");
        if (options.ResolveBinary() is null)
            problems.Add($"{QemuOptions.Section}:Binary '{options.Binary}' was not found: install qemu-system-x86 or set its path.");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
