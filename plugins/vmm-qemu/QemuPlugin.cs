using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Plugins.Vmm.Qemu;

/// <summary>The plugin's entry: registers <see cref="QemuVmm"/> as the silo's <see cref="IVmm"/>.</summary>
public sealed class QemuPlugin : IWrennPlugin
{
    public void Register(IServiceCollection services, IConfiguration configuration, PluginHost host)
    {
        services.Configure<QemuOptions>(configuration);
        services.AddSingleton<IVmm, QemuVmm>();
    }
}
