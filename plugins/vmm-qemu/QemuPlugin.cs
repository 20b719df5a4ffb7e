using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Plugins.Vmm.Qemu;

/// <summary>The plugin's entry: registers <see cref="QemuVmm"/> as the silo's <see cref="IVmm"/>, its options checked at start.</summary>
public sealed class QemuPlugin : IWrennPlugin
{
    public void Register(IServiceCollection services, IConfiguration configuration, PluginHost host)
    {
        services.AddOptions<QemuOptions>().Bind(configuration).ValidateOnStart();
        services.AddSingleton<IValidateOptions<QemuOptions>, QemuOptionsValidator>();
        services.AddSingleton<IVmm, QemuVmm>();
    }
}
