using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Plugins;

namespace Wrenn.Plugins.Memory.Uffd;

/// <summary>The plugin's entry: registers <see cref="UffdMemoryBackend"/> as the silo's <see cref="IMemoryBackend"/>.</summary>
public sealed class UffdMemoryPlugin : IWrennPlugin
{
    public void Register(IServiceCollection services, IConfiguration configuration, PluginHost host)
    {
        services.AddOptions<UffdOptions>().Bind(configuration).ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<UffdOptions>, UffdOptionsValidator>();
        services.AddSingleton<IMemoryBackend, UffdMemoryBackend>();
    }
}
