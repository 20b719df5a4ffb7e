using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;

namespace Wrenn.Plugins.Network.Netns;

/// <summary>
/// The plugin's entry: registers <see cref="NetnsNetwork"/> as the silo's <see cref="INetwork"/> and,
/// the same singleton, its <see cref="INetworkEgress"/> (the silo may also cast the INetwork to it).
/// </summary>
public sealed class NetnsPlugin : IWrennPlugin
{
    public void Register(IServiceCollection services, IConfiguration configuration, PluginHost host)
    {
        services.Configure<NetnsOptions>(configuration);
        services.AddSingleton<NetnsNetwork>();
        services.AddSingleton<INetwork>(sp => sp.GetRequiredService<NetnsNetwork>());
        services.AddSingleton<INetworkEgress>(sp => sp.GetRequiredService<NetnsNetwork>());
    }
}
