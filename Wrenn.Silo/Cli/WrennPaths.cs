namespace Wrenn.Silo.Cli;

/// <summary>Where the command line finds the checkout (for the built image) and the machine-wide folders.</summary>
internal static class WrennPaths
{
    public const string MachineRuntimeDir = "/run/wrenn";

    public static string CacheDir => Environment.GetEnvironmentVariable("WRENN_CACHE") is { Length: > 0 } cache ? cache : "/var/cache/wrenn";

    /// <summary>The checkout: WRENN_ROOT (scripts/wrenn sets it), else the folder above the binary holding Wrenn.slnx.</summary>
    public static string Root
    {
        get
        {
            if (Environment.GetEnvironmentVariable("WRENN_ROOT") is { Length: > 0 } root)
                return root;
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Wrenn.slnx")))
                    return dir.FullName;
            }
            return Directory.GetCurrentDirectory();
        }
    }

    public static string ImageDir => Path.Combine(Root, "artifacts", "image");
}
