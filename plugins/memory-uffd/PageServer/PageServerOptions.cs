namespace Wrenn.Plugins.Memory.Uffd.PageServer;

/// <summary>
/// How one page server serves its VM (<c>Wrenn:Plugins:uffd:PageServer</c>). The defaults are the
/// fastest measured on this project's 2-core machine (bench/results/uffd.md).
/// </summary>
public sealed record PageServerOptions
{
    /// <summary>Threads reading the userfaultfd. One is fastest on 2 cores (measured); more only help with many vCPUs faulting at once.</summary>
    public int FaultThreads { get; init; } = 1;

    /// <summary>Pages a fault fills: the faulting page (one copy, so the guest wakes soonest), then the rest in one more UFFDIO_COPY while they are contiguous in one generation file.</summary>
    public int FaultRunPages { get; init; } = 4;

    /// <summary>Pages one prefetch UFFDIO_COPY copies at most (the prefetch thread's chunk).</summary>
    public int PrefetchChunkPages { get; init; } = 64;

    /// <summary>Pages read ahead of a sequential run of faults at first; the window doubles while the guest keeps catching up with it.</summary>
    public int ReadaheadMinPages { get; init; } = 256;

    /// <summary>The largest read-ahead window, in pages (0: no read-ahead on sequential faults).</summary>
    public int ReadaheadMaxPages { get; init; } = 16384;

    /// <summary>
    /// How long a fault thread keeps reading the userfaultfd without sleeping after it served a
    /// fault: faults come in bursts while a guest restores, and a sleeping thread costs each next
    /// fault a wake-up (tens of µs on a busy host). 0: always sleep in poll.
    /// </summary>
    public int SpinMicroseconds { get; init; } = 0;

    /// <summary>Replay the previous restore's trace (<see cref="PrefetchTrace"/>) ahead of the guest after its first fault.</summary>
    public bool PrefetchTrace { get; init; } = true;

    /// <summary>The problems with these options, each naming its setting under <paramref name="section"/>.</summary>
    public IEnumerable<string> Problems(string section)
    {
        if (FaultThreads is < 1 or > 64)
            yield return $"{section}:FaultThreads must be 1 to 64, got {FaultThreads}.";
        if (FaultRunPages is < 1 or > 4096)
            yield return $"{section}:FaultRunPages must be 1 to 4096, got {FaultRunPages}.";
        if (SpinMicroseconds is < 0 or > 10_000)
            yield return $"{section}:SpinMicroseconds must be 0 to 10000, got {SpinMicroseconds}.";
        if (PrefetchChunkPages is < 1 or > 65536)
            yield return $"{section}:PrefetchChunkPages must be 1 to 65536, got {PrefetchChunkPages}.";
        if (ReadaheadMaxPages < 0 || (ReadaheadMaxPages > 0 && (ReadaheadMinPages < 1 || ReadaheadMinPages > ReadaheadMaxPages)))
            yield return $"{section}:ReadaheadMinPages ({ReadaheadMinPages}) must be at least 1 and at most ReadaheadMaxPages ({ReadaheadMaxPages}), and ReadaheadMaxPages not negative.";
    }

    /// <summary>Throws with every problem when the options cannot be used.</summary>
    public PageServerOptions Validated(string section = "Wrenn:Plugins:uffd:PageServer")
    {
        var problems = Problems(section).ToList();
        return problems.Count == 0 ? this : throw new ArgumentException(string.Join(" ", problems));
    }

    /// <summary>As command-line arguments of the page server process (<see cref="Parse"/> reads them back).</summary>
    public IEnumerable<string> ToArguments() =>
    [
        "--fault-threads", FaultThreads.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--fault-run", FaultRunPages.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--prefetch-chunk", PrefetchChunkPages.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--readahead", $"{ReadaheadMinPages}:{ReadaheadMaxPages}",
        "--prefetch-trace", PrefetchTrace ? "1" : "0",
        "--spin-us", SpinMicroseconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ];

    public static PageServerOptions Parse(string name, string value, PageServerOptions options)
    {
        int Int(string s) => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
        return name switch
        {
            "--fault-threads" => options with { FaultThreads = Int(value) },
            "--fault-run" => options with { FaultRunPages = Int(value) },
            "--prefetch-chunk" => options with { PrefetchChunkPages = Int(value) },
            "--readahead" => options with { ReadaheadMinPages = Int(value.Split(':')[0]), ReadaheadMaxPages = Int(value.Split(':')[1]) },
            "--spin-us" => options with { SpinMicroseconds = Int(value) },
            "--prefetch-trace" => options with { PrefetchTrace = value == "1" },
            _ => throw new ArgumentException($"Unknown page server option {name}."),
        };
    }
}
