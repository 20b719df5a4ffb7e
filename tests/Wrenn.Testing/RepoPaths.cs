namespace Wrenn.Testing;

/// <summary>Where the checkout and its build outputs are, found from the test assembly's folder.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> RootLazy = new(FindRoot);

    /// <summary>The checkout's root (the folder holding Wrenn.slnx).</summary>
    public static string Root => RootLazy.Value;

    /// <summary>Build outputs that are not committed: <c>artifacts/</c> in the checkout.</summary>
    public static string Artifacts => Path.Combine(Root, "artifacts");

    /// <summary>The published guest agent binary (scripts/setup builds it); override with WRENN_AGENT_BIN.</summary>
    public static string AgentBinary =>
        Environment.GetEnvironmentVariable("WRENN_AGENT_BIN") is { Length: > 0 } path
            ? path
            : Path.Combine(Artifacts, "agent", "wrenn-agent");

    /// <summary>
    /// The last Connect agent (before the gRPC one), published from git history by
    /// scripts/setup.d/31-agent-connect.sh: snapshots taken before the switch hold it.
    /// </summary>
    public static string ConnectAgentBinary => Path.Combine(Artifacts, "agent-connect", "wrenn-agent");

    /// <summary>The guest image folder (kernel, initrd, rootfs); override with WRENN_IMAGE_DIR.</summary>
    public static string ImageDir =>
        Environment.GetEnvironmentVariable("WRENN_IMAGE_DIR") is { Length: > 0 } path
            ? path
            : Path.Combine(Artifacts, "image");

    /// <summary>The Node packages used as real third-party peers (tests/node, installed with npm ci).</summary>
    public static string NodeTests => Path.Combine(Root, "tests", "node");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Wrenn.slnx")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"No Wrenn.slnx above {AppContext.BaseDirectory}: run the tests from a Wrenn checkout.");
    }
}
