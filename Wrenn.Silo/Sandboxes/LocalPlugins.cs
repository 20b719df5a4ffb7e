using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Plugins;
using Wrenn.Plugins.Clock.Chrony;
using Wrenn.Plugins.Memory.File;
using Wrenn.Plugins.Network.Netns;
using Wrenn.Plugins.Storage.Qcow2;
using Wrenn.Plugins.Vmm.Qemu;

namespace Wrenn.Silo.Sandboxes;

/// <summary>
/// The project's own plugins for one owner prefix, composed directly with default options. The silo
/// loads its plugins from their folders instead (PluginLoader); the demo, the VM tests and the benchmarks use this.
/// </summary>
public sealed record LocalPlugins(
    PluginHost Host, QemuVmm Vmm, NetnsNetwork Network, Qcow2Storage Storage, FileMemoryBackend Memory, ChronyGuestClock Clock)
{
    public static LocalPlugins Create(PluginHost host, ILoggerFactory loggers) => new(
        host,
        new QemuVmm(Options.Create(new QemuOptions()), host, loggers.CreateLogger<QemuVmm>()),
        new NetnsNetwork(Options.Create(new NetnsOptions()), host, loggers.CreateLogger<NetnsNetwork>()),
        new Qcow2Storage(Options.Create(new Qcow2Options()), host, loggers.CreateLogger<Qcow2Storage>()),
        new FileMemoryBackend(host, loggers.CreateLogger<FileMemoryBackend>()),
        new ChronyGuestClock(Options.Create(new ChronyOptions()), loggers.CreateLogger<ChronyGuestClock>()));

    /// <summary>VMs that boot and destroy (anonymous guest RAM, no clock plugin).</summary>
    public SandboxVms BootOnly(ILoggerFactory loggers) =>
        new(Vmm, Storage, Network, Host, loggers.CreateLogger<SandboxVms>());

    /// <summary>VMs that can also pause and resume: RAM in a file, clock set after every restore.</summary>
    public SandboxVms WithSnapshots(ILoggerFactory loggers) =>
        new(Vmm, Storage, Network, Host, loggers.CreateLogger<SandboxVms>(), Clock, Memory);
}
