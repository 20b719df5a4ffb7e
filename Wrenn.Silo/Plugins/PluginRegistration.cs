using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Wrenn.Abstractions.Clock;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Silo.Plugins;

/// <summary>
/// Registers a loaded plugin's services. A plugin that names an entry type in plugin.json (or has
/// exactly one public <see cref="IWrennPlugin"/>) registers them itself. One without registers by
/// convention, scanned with Scrutor: every public class implementing its kind's contract (exactly
/// one) and every public <see cref="IPluginDiagnostics"/> as singletons, and every public class named
/// <c>…Options</c> with a parameterless constructor bound to the plugin's configuration section.
/// Either way the plugin must end up registering its kind's contract.
/// </summary>
internal static class PluginRegistration
{
    /// <summary>The contract each kind of plugin implements.</summary>
    public static Type ContractOf(PluginKind kind) => kind switch
    {
        PluginKind.Vmm => typeof(IVmm),
        PluginKind.Storage => typeof(IStorage),
        PluginKind.Network => typeof(INetwork),
        PluginKind.Memory => typeof(IMemoryBackend),
        PluginKind.Clock => typeof(IGuestClock),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a plugin kind"),
    };

    private static readonly MethodInfo BindOptions = typeof(OptionsConfigurationServiceCollectionExtensions).GetMethods()
        .Single(m => m.Name == nameof(OptionsConfigurationServiceCollectionExtensions.Configure) && m.GetParameters() is [_, { ParameterType: var p }] && p == typeof(IConfiguration));

    /// <summary>Registers the plugin's services; throws <see cref="InvalidOperationException"/> saying what is wrong with the plugin.</summary>
    public static void Register(Assembly assembly, PluginManifest manifest, IServiceCollection services, IConfiguration section, PluginHost host)
    {
        var contract = ContractOf(manifest.Kind);
        var before = services.Count(d => d.ServiceType == contract);
        if (EntryTypeOf(assembly, manifest) is { } entryType)
        {
            if (entryType.GetConstructor(Type.EmptyTypes) is null || Activator.CreateInstance(entryType) is not IWrennPlugin entry)
                throw new InvalidOperationException($"{entryType.FullName} is not a public class implementing IWrennPlugin with a parameterless constructor (is it built against another Wrenn.Abstractions?)");
            entry.Register(services, section, host);
        }
        else
        {
            RegisterByConvention(assembly, contract, services, section);
        }
        if (services.Count(d => d.ServiceType == contract) == before)
            throw new InvalidOperationException($"it registered no {contract.Name}; a {manifest.Kind} plugin must register its implementation of {contract.Name}");
    }

    private static Type? EntryTypeOf(Assembly assembly, PluginManifest manifest)
    {
        if (manifest.EntryType is { Length: > 0 } name)
            return assembly.GetType(name, throwOnError: false) ?? throw new InvalidOperationException($"its assembly has no type {name} (plugin.json's entryType)");
        var entries = PublicClasses(assembly, typeof(IWrennPlugin));
        return entries.Count switch
        {
            0 => null,
            1 => entries[0],
            _ => throw new InvalidOperationException($"it names no entryType and has {entries.Count} IWrennPlugin types ({string.Join(", ", entries.Select(e => e.FullName))}); name one in plugin.json"),
        };
    }

    private static void RegisterByConvention(Assembly assembly, Type contract, IServiceCollection services, IConfiguration section)
    {
        var implementations = PublicClasses(assembly, contract);
        if (implementations.Count != 1)
            throw new InvalidOperationException(implementations.Count == 0
                ? $"it names no entryType and has no public class implementing {contract.Name}"
                : $"it names no entryType and has {implementations.Count} public classes implementing {contract.Name} ({string.Join(", ", implementations.Select(i => i.FullName))}); name an entry type in plugin.json");
        foreach (var options in assembly.GetExportedTypes().Where(t => t is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: false }
                     && t.Name.EndsWith("Options", StringComparison.Ordinal) && t.GetConstructor(Type.EmptyTypes) is not null))
            BindOptions.MakeGenericMethod(options).Invoke(null, [services, section]);
        services.Scan(scan => scan.FromAssemblies(assembly)
            .AddClasses(c => c.AssignableTo(contract), publicOnly: true).As(contract).WithSingletonLifetime()
            .AddClasses(c => c.AssignableTo<IPluginDiagnostics>(), publicOnly: true).As<IPluginDiagnostics>().WithSingletonLifetime());
    }

    private static List<Type> PublicClasses(Assembly assembly, Type assignableTo) =>
        assembly.GetExportedTypes().Where(t => t is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: false } && assignableTo.IsAssignableFrom(t)).ToList();
}
