namespace SparseCopy.Storage;

/// <summary>Settings of the plugin (<c>Wrenn:Plugins:sparse-copy</c>); bound by the silo's convention because the name ends in Options.</summary>
public sealed class SparseCopyOptions
{
    /// <summary>The folder under the silo's data folder that holds the disks.</summary>
    public string Folder { get; set; } = "sparse-disks";
}
