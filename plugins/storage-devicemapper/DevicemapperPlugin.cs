using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;

namespace Wrenn.Plugins.Storage.Devicemapper;

/// <summary>The plugin's entry: registers <see cref="DevicemapperStorage"/> as the silo's <see cref="IStorage"/>.</summary>
public sealed class DevicemapperPlugin : IWrennPlugin
{
    public void Register(IServiceCollection services, IConfiguration configuration, PluginHost host)
    {
        services.Configure<DevicemapperOptions>(configuration);
        services.AddSingleton<LoopDeviceRegistry>();
        services.AddSingleton<IStorage, DevicemapperStorage>();
    }
}
