using System.Reflection;
using Wrenn.Grains.Runtime;
using Wrenn.Silo.Runtime.Grains;

namespace Wrenn.Silo.Runtime.Calls;

/// <summary>Makes grain references; cheap (no I/O): the call itself finds or makes the activation.</summary>
internal sealed class GrainFactory(GrainRegistry registry, Func<Dispatcher> dispatcher) : IGrainFactory
{
    public TGrain Get<TGrain>(string key) where TGrain : IGrainWithStringKey => Create<TGrain>(key, null);

    public TGrain Get<TGrain>(string key, string siloName) where TGrain : IGrainWithStringKey
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(siloName);
        return Create<TGrain>(key, siloName);
    }

    internal object Get(GrainId grain) => CreateReference(registry.ByName(grain.Kind), grain.Key, null);

    private TGrain Create<TGrain>(string key, string? pinTo) where TGrain : IGrainWithStringKey =>
        (TGrain)CreateReference(registry.ByInterface(typeof(TGrain)), key, pinTo);

    private object CreateReference(GrainKind kind, string key, string? pinTo)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var proxy = DispatchProxy.Create(kind.Interface, typeof(GrainReference));
        ((GrainReference)proxy).Bind(dispatcher(), kind, new GrainId(kind.Name, key), pinTo);
        return proxy;
    }
}
