namespace Wrenn.GraphQL.Execution;

/// <summary>
/// An <see cref="IAsyncEnumerable{T}"/> as the <see cref="IObservable{T}"/> GraphQL.NET's code-first
/// subscriptions take (its own adapter is internal): each subscriber pulls the source on its own, one
/// item per credit; disposing the subscription cancels the source.
/// </summary>
public sealed class AsyncEnumerableObservable<T>(Func<CancellationToken, IAsyncEnumerable<T>> source, StreamCredits? credits) : IObservable<T>
{
    public IDisposable Subscribe(IObserver<T> observer)
    {
        var subscription = new CancellationTokenSource();
        _ = PumpAsync(observer, subscription.Token);
        return new Subscription(subscription);
    }

    private async Task PumpAsync(IObserver<T> observer, CancellationToken cancellationToken)
    {
        try
        {
            await using var items = source(cancellationToken).GetAsyncEnumerator(cancellationToken);
            while (true)
            {
                if (credits is not null)
                    await credits.TakeAsync(cancellationToken).ConfigureAwait(false);
                if (!await items.MoveNextAsync().ConfigureAwait(false))
                    break;
                observer.OnNext(items.Current);
            }
            observer.OnCompleted();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Unsubscribed: nobody listens any more.
        }
        catch (Exception e)
        {
            observer.OnError(e);
        }
    }

    private sealed class Subscription(CancellationTokenSource source) : IDisposable
    {
        // Not disposed: the pump may still be unwinding on its token (a source without a timer needs no disposal).
        public void Dispose() => source.Cancel();
    }
}
