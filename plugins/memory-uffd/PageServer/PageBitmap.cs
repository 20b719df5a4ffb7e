namespace Wrenn.Plugins.Memory.Uffd.PageServer;

/// <summary>One bit per page, set and cleared atomically: shared by the fault threads and the prefetch thread without a lock.</summary>
internal sealed class PageBitmap(long pages)
{
    private readonly long[] _words = new long[(pages + 63) / 64];

    public bool this[long page] => (Volatile.Read(ref _words[page >> 6]) & (1L << (int)(page & 63))) != 0;

    public void Set(long page, long count)
    {
        for (var p = page; p < page + count; p++)
            Interlocked.Or(ref _words[p >> 6], 1L << (int)(p & 63));
    }

    public void Clear(long page) => Interlocked.And(ref _words[page >> 6], ~(1L << (int)(page & 63)));
}
