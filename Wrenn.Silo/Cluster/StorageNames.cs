namespace Wrenn.Silo.Cluster;

/// <summary>The grain storage providers the silo configures.</summary>
public static class StorageNames
{
    /// <summary>Orleans grain state in the silo's PostgreSQL (ADO.NET provider over orleans_grain_state).</summary>
    public const string Wrenn = "wrenn";
}
