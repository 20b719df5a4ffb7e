using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Plugins.Vmm.Firecracker;

/// <summary>The plugin's entry: registers <see cref="FirecrackerVmm"/> as the silo's <see cref="IVmm"/>.</summary>
public sealed class FirecrackerPlugin : IWrennPlugin
{
    public void Register(IServiceCollection services, IConfiguration configuration, PluginHost host)
    {
        services.AddOptions<FirecrackerOptions>().Bind(configuration).ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<FirecrackerOptions>, FirecrackerOptionsValidator>();
        services.AddSingleton<IVmm, FirecrackerVmm>();
        services.AddSingleton<IPluginDiagnostics, FirecrackerDiagnostics>();
    }
}

/// <summary>Says when the firecracker binary or /dev/kvm is missing.</summary>
public sealed class FirecrackerDiagnostics(Microsoft.Extensions.Options.IOptions<FirecrackerOptions> options) : IPluginDiagnostics
{
    public IReadOnlyList<string> Check()
    {
        var problems = new List<string>();
        if (options.Value.ResolveBinary() is null)
            problems.Add($"the firecracker binary '{options.Value.Binary}' was not found: install it, or set Wrenn:Plugins:firecracker:Binary (or WRENN_FIRECRACKER_BIN) to its path");
        if (!File.Exists("/dev/kvm"))
            problems.Add("/dev/kvm is missing: Firecracker needs KVM");
        return problems;
    }
}
