using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Abstractions.Clock;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Silo.Plugins.Calls;

/// <summary>Wraps a plugin's registrations of its contract (Scrutor's Decorate) in our timing decorators.</summary>
internal static class PluginCallDecoration
{
    /// <summary>Decorates every registration of <paramref name="kind"/>'s contract with the plugin's name.</summary>
    public static void DecorateContract(IServiceCollection services, PluginKind kind, string plugin, PluginCallOptions options) =>
        services.Decorate(PluginRegistration.ContractOf(kind), (inner, provider) => Wrap(kind, inner, LogFor(provider, kind, plugin, options)));

    /// <summary>Decorates the plugin's diagnostics: only where they are asked for, one plugin per container.</summary>
    public static void DecorateDiagnostics(IServiceCollection services, PluginKind kind, string plugin, PluginCallOptions options)
    {
        if (services.Any(d => d.ServiceType == typeof(IPluginDiagnostics)))
            services.Decorate<IPluginDiagnostics>((inner, provider) => new TimedDiagnostics(inner, LogFor(provider, kind, plugin, options)));
    }

    private static object Wrap(PluginKind kind, object inner, PluginCallLog log) => kind switch
    {
        PluginKind.Vmm => TimedVmm.For((IVmm)inner, log),
        PluginKind.Storage => TimedStorage.For((IStorage)inner, log),
        PluginKind.Network => TimedNetwork.For((INetwork)inner, log),
        PluginKind.Memory => TimedMemoryBackend.For((IMemoryBackend)inner, log),
        PluginKind.Clock => new TimedGuestClock((IGuestClock)inner, log),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a plugin kind"),
    };

    private static PluginCallLog LogFor(IServiceProvider provider, PluginKind kind, string plugin, PluginCallOptions options) =>
        new((provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger(PluginCallLog.Category), kind, plugin, options.SlowAfter);
}
