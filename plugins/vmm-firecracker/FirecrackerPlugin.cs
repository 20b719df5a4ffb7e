using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Plugins.Vmm.Firecracker;

/// <summary>The plugin's entry: registers <see cref="FirecrackerVmm"/> as the silo's <see cref="IVmm"/>.</summary>
public sealed class FirecrackerPlugin : IWrennPlugin
{
    public void Register(IServiceCollection services, IConfiguration configuration, PluginHost host)
    {
        services.Configure<FirecrackerOptions>(configuration);
        services.AddSingleton<IVmm, FirecrackerVmm>();
    }
}
