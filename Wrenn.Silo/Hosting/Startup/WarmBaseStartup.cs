using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Wrenn.Abstractions.Memory;
using Wrenn.Silo.Sandboxes;

namespace Wrenn.Silo.Hosting.Startup;

/// <summary>Boots the base image once and freezes it (when asked and a memory plugin can restore it), before the API serves.</summary>
public sealed class WarmBaseStartup(WarmBase warmBase, WrennSiloOptions options, IServiceProvider services) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.WarmBase && services.GetService<IMemoryBackend>() is not null)
            await warmBase.PrepareAsync(options.ImageDir, new VmSize(options.BaseVcpus, options.BaseMemoryMib), cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
