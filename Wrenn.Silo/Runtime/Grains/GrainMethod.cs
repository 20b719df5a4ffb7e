using System.Reflection;
using System.Runtime.CompilerServices;
using Wrenn.Grains.Runtime;

namespace Wrenn.Silo.Runtime.Grains;

/// <summary>What a grain method returns, which decides how a call travels.</summary>
internal enum ResultShape
{
    /// <summary>Task or ValueTask.</summary>
    None,

    /// <summary>Task&lt;T&gt; or ValueTask&lt;T&gt;.</summary>
    Value,

    /// <summary>IAsyncEnumerable&lt;T&gt;: items flow as produced; no total timeout.</summary>
    Stream,
}

/// <summary>
/// One method of a grain interface, with everything a call needs: its turn discipline, its
/// argument types (without the CancellationToken) and how to call it and unwrap its result.
/// </summary>
internal sealed class GrainMethod
{
    private static readonly MethodInfo AwaitTaskOf = typeof(GrainMethod).GetMethod(nameof(AwaitTaskAsync), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo AwaitValueTaskOf = typeof(GrainMethod).GetMethod(nameof(AwaitValueTaskAsync), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo BoxStreamOf = typeof(GrainMethod).GetMethod(nameof(BoxStream), BindingFlags.NonPublic | BindingFlags.Static)!;

    private static readonly MethodInfo ToTaskOf = typeof(GrainMethod).GetMethod(nameof(ToTaskAsync), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo ToValueTaskOf = typeof(GrainMethod).GetMethod(nameof(ToValueTask), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo UnboxStreamOf = typeof(GrainMethod).GetMethod(nameof(UnboxStream), BindingFlags.NonPublic | BindingFlags.Static)!;

    private readonly int _cancellationIndex;
    private readonly Func<Task<object?>, object> _toReturnType;
    private readonly int _parameterCount;
    private readonly Func<object, Task<object?>>? _unwrap;
    private readonly Func<object, CancellationToken, IAsyncEnumerable<object?>>? _boxStream;
    private readonly Func<IAsyncEnumerable<object?>, object>? _toReturnStream;

    public GrainMethod(Type grainInterface, MethodInfo method)
    {
        Interface = grainInterface;
        Method = method;
        Name = method.Name;
        Shared = method.GetCustomAttribute<SharedAttribute>() is not null;
        CancelsShared = method.GetCustomAttribute<CancelsSharedAttribute>() is not null;
        if (Shared && CancelsShared)
            throw new InvalidOperationException($"{grainInterface.Name}.{method.Name} cannot be both [Shared] and [CancelsShared].");
        Timeout = method.GetCustomAttribute<CallTimeoutAttribute>()?.Timeout;

        var parameters = method.GetParameters();
        _parameterCount = parameters.Length;
        _cancellationIndex = Array.FindIndex(parameters, p => p.ParameterType == typeof(CancellationToken));
        ArgumentTypes = parameters.Where(p => p.ParameterType != typeof(CancellationToken)).Select(p => p.ParameterType).ToArray();

        var returns = method.ReturnType;
        if (returns == typeof(Task) || returns == typeof(ValueTask))
        {
            Shape = ResultShape.None;
            _unwrap = returns == typeof(Task) ? AwaitPlainTaskAsync : AwaitPlainValueTaskAsync;
            _toReturnType = returns == typeof(Task) ? task => task : task => new ValueTask(task);
        }
        else if (returns.IsGenericType && returns.GetGenericTypeDefinition() is var definition
                 && (definition == typeof(Task<>) || definition == typeof(ValueTask<>) || definition == typeof(IAsyncEnumerable<>)))
        {
            ResultType = returns.GetGenericArguments()[0];
            if (definition == typeof(IAsyncEnumerable<>))
            {
                Shape = ResultShape.Stream;
                _boxStream = BoxStreamOf.MakeGenericMethod(ResultType).CreateDelegate<Func<object, CancellationToken, IAsyncEnumerable<object?>>>();
                var unbox = UnboxStreamOf.MakeGenericMethod(ResultType).CreateDelegate<Func<IAsyncEnumerable<object?>, object>>();
                _toReturnStream = unbox;
                _toReturnType = _ => throw new InvalidOperationException("A streaming method has no task result.");
            }
            else
            {
                Shape = ResultShape.Value;
                var awaiter = (definition == typeof(Task<>) ? AwaitTaskOf : AwaitValueTaskOf).MakeGenericMethod(ResultType);
                _unwrap = awaiter.CreateDelegate<Func<object, Task<object?>>>();
                _toReturnType = (definition == typeof(Task<>) ? ToTaskOf : ToValueTaskOf).MakeGenericMethod(ResultType).CreateDelegate<Func<Task<object?>, object>>();
            }
        }
        else
        {
            throw new InvalidOperationException(
                $"{grainInterface.Name}.{method.Name} returns {returns.Name}; grain methods return Task, ValueTask, Task<T>, ValueTask<T> or IAsyncEnumerable<T>.");
        }
    }

    public Type Interface { get; }

    public MethodInfo Method { get; }

    public string Name { get; }

    public bool Shared { get; }

    public bool CancelsShared { get; }

    public TimeSpan? Timeout { get; }

    public ResultShape Shape { get; }

    /// <summary>The T of Task&lt;T&gt;, ValueTask&lt;T&gt; or IAsyncEnumerable&lt;T&gt;.</summary>
    public Type? ResultType { get; }

    /// <summary>Parameter types as they travel: every parameter but the CancellationToken.</summary>
    public Type[] ArgumentTypes { get; }

    /// <summary>Splits a proxy's argument array into the travelling arguments and the token.</summary>
    public (object?[] Arguments, CancellationToken Cancellation) SplitArguments(object?[]? all)
    {
        all ??= [];
        if (_cancellationIndex < 0)
            return (all, CancellationToken.None);
        var arguments = new object?[all.Length - 1];
        for (int i = 0, j = 0; i < all.Length; i++)
        {
            if (i != _cancellationIndex)
                arguments[j++] = all[i];
        }
        return (arguments, (CancellationToken)all[_cancellationIndex]!);
    }

    private object?[] JoinArguments(object?[] arguments, CancellationToken cancellationToken)
    {
        if (_cancellationIndex < 0)
            return arguments;
        var all = new object?[_parameterCount];
        for (int i = 0, j = 0; i < all.Length; i++)
            all[i] = i == _cancellationIndex ? cancellationToken : arguments[j++];
        return all;
    }

    /// <summary>Calls the implementation and awaits it; the result is boxed (null for Task/ValueTask).</summary>
    public Task<object?> InvokeAsync(MethodInfo implementation, object grain, object?[] arguments, CancellationToken cancellationToken)
    {
        var returned = InvokeRaw(implementation, grain, arguments, cancellationToken);
        return _unwrap!(returned);
    }

    /// <summary>Calls a streaming implementation; the items are boxed.</summary>
    public IAsyncEnumerable<object?> InvokeStream(MethodInfo implementation, object grain, object?[] arguments, CancellationToken cancellationToken) =>
        _boxStream!(InvokeRaw(implementation, grain, arguments, cancellationToken), cancellationToken);

    private object InvokeRaw(MethodInfo implementation, object grain, object?[] arguments, CancellationToken cancellationToken)
    {
        try
        {
            return implementation.Invoke(grain, JoinArguments(arguments, cancellationToken))
                ?? throw new InvalidOperationException($"{Interface.Name}.{Name} returned null instead of a task.");
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    /// <summary>Turns a dispatched call's boxed result into what the interface method returns (Task&lt;T&gt; …).</summary>
    public object ToReturnType(Task<object?> result) => _toReturnType(result);

    /// <summary>Turns a dispatched stream of boxed items into the interface's IAsyncEnumerable&lt;T&gt;.</summary>
    public object ToReturnStream(IAsyncEnumerable<object?> items) => _toReturnStream!(items);

    private static async Task<T> ToTaskAsync<T>(Task<object?> result) => (T)(await result)!;

    private static ValueTask<T> ToValueTask<T>(Task<object?> result) => new(ToTaskAsync<T>(result));

    private static object UnboxStream<T>(IAsyncEnumerable<object?> items) => Unbox<T>(items);

    private static async IAsyncEnumerable<T> Unbox<T>(IAsyncEnumerable<object?> items, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var item in items.WithCancellation(cancellationToken))
            yield return (T)item!;
    }

    private static async Task<object?> AwaitPlainTaskAsync(object task)
    {
        await (Task)task;
        return null;
    }

    private static async Task<object?> AwaitPlainValueTaskAsync(object task)
    {
        await (ValueTask)task;
        return null;
    }

    private static async Task<object?> AwaitTaskAsync<T>(object task) => await (Task<T>)task;

    private static async Task<object?> AwaitValueTaskAsync<T>(object task) => await (ValueTask<T>)task;

    private static async IAsyncEnumerable<object?> BoxStream<T>(object stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in ((IAsyncEnumerable<T>)stream).WithCancellation(cancellationToken))
            yield return item;
    }
}
