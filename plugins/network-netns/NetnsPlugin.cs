using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;

namespace Wrenn.Plugins.Network.Netns;

/// <summary>The plugin's entry: registers <see cref="NetnsNetwork"/> as the silo's <see cref="INetwork"/>.</summary>
public sealed class NetnsPlugin : IWrennPlugin
{
    public void Register(IServiceCollection services, IConfiguration configuration, PluginHost host)
    {
        services.Configure<NetnsOptions>(configuration);
        services.AddSingleton<INetwork, NetnsNetwork>();
    }
}
