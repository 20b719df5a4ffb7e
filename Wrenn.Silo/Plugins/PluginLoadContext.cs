using System.Reflection;
using System.Runtime.Loader;

namespace Wrenn.Silo.Plugins;

/// <summary>
/// One plugin's assemblies. The plugin's own dependencies resolve from its folder (its deps.json),
/// so two plugins may carry different versions of a library; Wrenn.Abstractions and the
/// Microsoft.Extensions.* contracts always come from the silo, so that the plugin's types and the
/// silo's are the same types.
/// </summary>
internal sealed class PluginLoadContext(string mainAssemblyPath) : AssemblyLoadContext($"plugin:{Path.GetFileNameWithoutExtension(mainAssemblyPath)}", isCollectible: false)
{
    private readonly AssemblyDependencyResolver _resolver = new(mainAssemblyPath);

    public static bool IsShared(AssemblyName name) =>
        name.Name is "Wrenn.Abstractions" || (name.Name?.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal) ?? false);

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (IsShared(assemblyName))
            return null; // the silo's copy
        return _resolver.ResolveAssemblyToPath(assemblyName) is { } path ? LoadFromAssemblyPath(path) : null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
        _resolver.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
}
