using System.Reflection;
using Wrenn.Grains.Runtime;

namespace Wrenn.Silo.Runtime.Grains;

/// <summary>A grain interface, the class that implements it on this silo, and its methods.</summary>
internal sealed class GrainKind
{
    private readonly Dictionary<string, GrainMethod> _byName;
    private readonly Dictionary<MethodInfo, GrainMethod> _byInterfaceMethod;
    private readonly Dictionary<GrainMethod, MethodInfo> _implementations = [];

    public GrainKind(Type grainInterface, Type implementation)
    {
        if (!grainInterface.IsInterface || !typeof(IGrainWithStringKey).IsAssignableFrom(grainInterface))
            throw new InvalidOperationException($"{grainInterface.Name} must be an interface deriving from IGrainWithStringKey.");
        if (!grainInterface.IsAssignableFrom(implementation) || !typeof(Grain).IsAssignableFrom(implementation) || implementation.IsAbstract)
            throw new InvalidOperationException($"{implementation.Name} must be a concrete Grain that implements {grainInterface.Name}.");

        Interface = grainInterface;
        Implementation = implementation;
        Name = grainInterface.GetCustomAttribute<GrainKindAttribute>()?.Name ?? grainInterface.FullName!;
        if (Name.Contains('/'))
            throw new InvalidOperationException($"Grain kind '{Name}' must not contain '/'.");
        Placement = grainInterface.GetCustomAttribute<PlacementAttribute>()?.Kind ?? PlacementKind.PreferLocal;

        var interfaces = grainInterface.GetInterfaces().Append(grainInterface).Where(i => i != typeof(IGrainWithStringKey));
        var methods = interfaces.SelectMany(i => i.GetMethods().Select(m => (Interface: i, Method: m))).ToList();
        var overloaded = methods.GroupBy(m => m.Method.Name).FirstOrDefault(g => g.Count() > 1);
        if (overloaded is not null)
            throw new InvalidOperationException($"{grainInterface.Name} has several methods named {overloaded.Key}; grain methods cannot be overloaded because calls name them.");

        var all = methods.Select(m => new GrainMethod(m.Interface, m.Method)).ToList();
        _byName = all.ToDictionary(m => m.Name, StringComparer.Ordinal);
        _byInterfaceMethod = all.ToDictionary(m => m.Method);
        foreach (var method in all)
        {
            var map = implementation.GetInterfaceMap(method.Interface);
            _implementations[method] = map.TargetMethods[Array.IndexOf(map.InterfaceMethods, method.Method)];
        }
    }

    public string Name { get; }

    public Type Interface { get; }

    public Type Implementation { get; }

    public PlacementKind Placement { get; }

    public GrainMethod Method(MethodInfo interfaceMethod) => _byInterfaceMethod[interfaceMethod];

    public GrainMethod Method(string name) =>
        _byName.TryGetValue(name, out var method) ? method : throw new GrainException("UNIMPLEMENTED", $"Grain kind {Name} has no method {name}; are the silos running different versions?");

    public MethodInfo ImplementationOf(GrainMethod method) => _implementations[method];
}
