using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;

namespace Wrenn.Plugins.Storage.Qcow2;

/// <summary>The plugin's entry: registers <see cref="Qcow2Storage"/> as the silo's <see cref="IStorage"/>.</summary>
public sealed class Qcow2Plugin : IWrennPlugin
{
    public void Register(IServiceCollection services, IConfiguration configuration, PluginHost host)
    {
        services.Configure<Qcow2Options>(configuration);
        services.AddSingleton<IStorage, Qcow2Storage>();
    }
}
