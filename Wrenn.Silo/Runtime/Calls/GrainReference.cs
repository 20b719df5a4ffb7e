using System.Reflection;
using Wrenn.Silo.Runtime.Grains;

namespace Wrenn.Silo.Runtime.Calls;

/// <summary>
/// The object behind a grain interface returned by the factory: every method call becomes a
/// dispatched grain call. Public and unsealed only because DispatchProxy requires it.
/// </summary>
public class GrainReference : DispatchProxy
{
    private Dispatcher? _dispatcher;
    private GrainKind? _kind;
    private string? _pinTo;

    internal GrainId Id { get; private set; }

    internal void Bind(Dispatcher dispatcher, GrainKind kind, GrainId id, string? pinTo)
    {
        _dispatcher = dispatcher;
        _kind = kind;
        Id = id;
        _pinTo = pinTo;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        var method = _kind!.Method(targetMethod!);
        var (arguments, cancellation) = method.SplitArguments(args);
        return method.Shape == ResultShape.Stream
            ? method.ToReturnStream(_dispatcher!.StreamAsync(_kind, Id, method, arguments, _pinTo, cancellation))
            : method.ToReturnType(_dispatcher!.InvokeAsync(_kind, Id, method, arguments, _pinTo, cancellation));
    }

    public override string ToString() => Id.ToString();
}
