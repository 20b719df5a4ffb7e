using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Wrenn.Abstractions.Plugins;

/// <summary>
/// The entry type a plugin names in its <c>plugin.json</c>. The silo creates it with a
/// public parameterless constructor and calls <see cref="Register"/> once, before the
/// host starts. Register the plugin's implementation of its kind's contract
/// (<see cref="Vmm.IVmm"/>, <see cref="Storage.IStorage"/>, <see cref="Network.INetwork"/>,
/// <see cref="Memory.IMemoryBackend"/> or <see cref="Clock.IGuestClock"/>) as a singleton.
/// </summary>
public interface IWrennPlugin
{
    /// <param name="services">The silo's service collection.</param>
    /// <param name="configuration">The plugin's own section, <c>Wrenn:Plugins:{name}</c>.</param>
    /// <param name="host">Where the plugin may put host objects and files.</param>
    void Register(IServiceCollection services, IConfiguration configuration, PluginHost host);
}

/// <summary>What a silo tells its plugins about the machine they run on.</summary>
/// <param name="OwnerPrefix">
/// A short prefix (at most 6 characters of [a-z0-9]) that every host object the plugin
/// creates must carry in its name: netns, links, processes' folders, files. Reconcilers and
/// test sweeps touch only names with their own prefix, because several silos and test runs
/// share one machine. Interface names are limited to 15 characters, so keep suffixes short.
/// </param>
/// <param name="DataDir">Durable per-silo data (disks, snapshots).</param>
/// <param name="RuntimeDir">
/// Volatile per-silo state under /run/wrenn (sockets, pid files). Unix socket paths must stay
/// under 108 bytes, so keep nesting shallow.
/// </param>
/// <param name="MachineRuntimeDir">Machine-wide coordination (lock files shared by all silos), normally /run/wrenn.</param>
/// <param name="CacheDir">Cache of slow-to-build artifacts (images, kernels), shared by silos on a machine.</param>
public sealed record PluginHost(
    string OwnerPrefix,
    string DataDir,
    string RuntimeDir,
    string MachineRuntimeDir,
    string CacheDir);
