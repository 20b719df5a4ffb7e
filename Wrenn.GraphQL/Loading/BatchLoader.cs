using GraphQL.DataLoader;

namespace Wrenn.GraphQL.Loading;

/// <summary>
/// Collects the keys that one request's resolvers ask for and loads them in one call. GraphQL.NET runs
/// every field of a level before it waits on any <see cref="IDataLoaderResult"/>, so a page of 50
/// sandboxes asking for their templates costs one call, not 50. A key loads once per request.
/// </summary>
/// <remarks>GraphQL.NET 8 ships only the <see cref="IDataLoaderResult"/> contract in its main package; GraphQL.DataLoader is not served here.</remarks>
public sealed class BatchLoader<TKey, TValue>(Func<IReadOnlyCollection<TKey>, CancellationToken, Task<IReadOnlyDictionary<TKey, TValue>>> load)
    where TKey : notnull
    where TValue : class
{
    private readonly Lock _gate = new();
    private readonly Dictionary<TKey, Batch> _batchOf = [];
    private Batch _pending = new();

    /// <summary>The value for <paramref name="key"/> (null when the load did not return it), loaded with every key asked for before the first result is awaited.</summary>
    public IDataLoaderResult<TValue?> Load(TKey key) => Load(key, static v => v);

    /// <summary>As <see cref="Load(TKey)"/>, then <paramref name="map"/> applied to the value.</summary>
    public IDataLoaderResult<TResult> Load<TResult>(TKey key, Func<TValue?, TResult> map)
    {
        lock (_gate)
        {
            if (!_batchOf.TryGetValue(key, out var batch))
            {
                batch = _pending;
                batch.Keys.Add(key);
                _batchOf[key] = batch;
            }
            return new Result<TResult>(this, batch, key, map);
        }
    }

    private Task<IReadOnlyDictionary<TKey, TValue>> Run(Batch batch, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (batch.Loaded is null)
            {
                // Later keys go to a new batch: this one's call starts now.
                if (ReferenceEquals(batch, _pending))
                    _pending = new Batch();
                batch.Loaded = load(batch.Keys, cancellationToken);
            }
            return batch.Loaded;
        }
    }

    private sealed class Batch
    {
        public HashSet<TKey> Keys { get; } = [];

        public Task<IReadOnlyDictionary<TKey, TValue>>? Loaded { get; set; }
    }

    private sealed class Result<TResult>(BatchLoader<TKey, TValue> loader, Batch batch, TKey key, Func<TValue?, TResult> map) : IDataLoaderResult<TResult>
    {
        public async Task<TResult> GetResultAsync(CancellationToken cancellationToken = default)
        {
            var values = await loader.Run(batch, cancellationToken).ConfigureAwait(false);
            return map(values.GetValueOrDefault(key));
        }

        async Task<object?> IDataLoaderResult.GetResultAsync(CancellationToken cancellationToken) => await GetResultAsync(cancellationToken).ConfigureAwait(false);
    }
}
