using System.Globalization;
using Wrenn.Bench.Cluster;

// Usage: dotnet run -c Release --project bench/Wrenn.Bench.Cluster [calls SECONDS | detection ROUNDS]
// `calls` writes bench/results/cluster-calls.md, `detection` bench/results/cluster-detection.md.
var mode = args.Length > 0 ? args[0] : "calls";
var root = Paths.Root;
Directory.CreateDirectory(Path.Combine(root, "bench", "results"));
switch (mode)
{
    case "calls":
        var seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        await File.WriteAllTextAsync(Path.Combine(root, "bench", "results", "cluster-calls.md"), await CallBench.RunAsync(seconds));
        break;
    case "detection":
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        await File.WriteAllTextAsync(Path.Combine(root, "bench", "results", "cluster-detection.md"), await DetectionBench.RunAsync(rounds));
        break;
    default:
        Console.Error.WriteLine($"unknown mode '{mode}': use calls or detection");
        return 2;
}
return 0;
