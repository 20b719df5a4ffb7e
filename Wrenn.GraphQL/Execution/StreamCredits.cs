namespace Wrenn.GraphQL.Execution;

/// <summary>
/// Back-pressure for a subscription: GraphQL.NET passes events along as an <see cref="IObservable{T}"/>,
/// which cannot wait for a slow client, so the source takes a credit before each item and the
/// transport gives one back once that item's message is sent. A client that stops reading stops the
/// source (and the command behind it) instead of filling the silo's memory.
/// </summary>
public sealed class StreamCredits(int ahead) : IDisposable
{
    private readonly SemaphoreSlim _credits = new(ahead);

    public Task TakeAsync(CancellationToken cancellationToken) => _credits.WaitAsync(cancellationToken);

    public void Return() => _credits.Release();

    public void Dispose() => _credits.Dispose();
}
