using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Testing;

namespace SparseCopy.Storage.Tests;

/// <summary>Everything the silo relies on from a storage plugin, checked by the kit: all the author writes is how to make one.</summary>
public sealed class SparseCopyConformanceTests : StorageConformance
{
    protected override IStorage CreateStorage(PluginHost host) =>
        new SparseCopyStorage(Options.Create(new SparseCopyOptions()), host, NullLogger<SparseCopyStorage>.Instance);
}
