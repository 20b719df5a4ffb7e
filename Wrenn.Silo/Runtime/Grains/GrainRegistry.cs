using Wrenn.Grains.Runtime;

namespace Wrenn.Silo.Runtime.Grains;

/// <summary>The grain kinds a silo can host. Every silo of a cluster registers the same ones.</summary>
public sealed class GrainRegistry
{
    private readonly Dictionary<string, GrainKind> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, GrainKind> _byInterface = [];

    public GrainRegistry Add<TGrainInterface, TImplementation>()
        where TGrainInterface : IGrainWithStringKey
        where TImplementation : Grain, TGrainInterface
    {
        var kind = new GrainKind(typeof(TGrainInterface), typeof(TImplementation));
        if (_byName.TryGetValue(kind.Name, out var existing))
            throw new InvalidOperationException($"Grain kind '{kind.Name}' is registered twice ({existing.Interface.Name} and {kind.Interface.Name}).");
        _byName[kind.Name] = kind;
        _byInterface[kind.Interface] = kind;
        return this;
    }

    internal GrainKind ByInterface(Type grainInterface) =>
        _byInterface.TryGetValue(grainInterface, out var kind) ? kind
            : throw new InvalidOperationException($"{grainInterface.Name} is not a registered grain interface; add it with GrainRegistry.Add<{grainInterface.Name}, TImplementation>().");

    internal GrainKind ByName(string name) =>
        _byName.TryGetValue(name, out var kind) ? kind
            : throw new GrainException("UNIMPLEMENTED", $"Grain kind '{name}' is not registered on this silo; are the silos running different versions?");
}
