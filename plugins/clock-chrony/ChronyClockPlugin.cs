using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Wrenn.Abstractions.Clock;
using Wrenn.Abstractions.Plugins;

namespace Wrenn.Plugins.Clock.Chrony;

/// <summary>The plugin's entry: registers <see cref="ChronyGuestClock"/> as the silo's <see cref="IGuestClock"/>.</summary>
public sealed class ChronyClockPlugin : IWrennPlugin
{
    public void Register(IServiceCollection services, IConfiguration configuration, PluginHost host)
    {
        services.Configure<ChronyOptions>(configuration);
        services.AddSingleton<IGuestClock, ChronyGuestClock>();
    }
}
