using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Plugins;

namespace Wrenn.Plugins.Memory.File;

/// <summary>The plugin's entry: registers <see cref="FileMemoryBackend"/> as the silo's <see cref="IMemoryBackend"/>.</summary>
public sealed class FileMemoryPlugin : IWrennPlugin
{
    public void Register(IServiceCollection services, IConfiguration configuration, PluginHost host) =>
        services.AddSingleton<IMemoryBackend, FileMemoryBackend>();
}
