namespace Wrenn.Bench.Cluster;

internal static class Paths
{
    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Wrenn.slnx")))
                    return dir.FullName;
            }
            return Directory.GetCurrentDirectory();
        }
    }
}
