using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Testing;
using Wrenn.Plugins.Network.Netns;

// Usage: SlotTaker OWNER DATA_DIR RUNTIME_DIR COUNT — the other process of the conformance kit's
// "allocation is unique across processes": the netns plugin for that owner and folders allocates
// COUNT slots when told to, prints them, and releases them when told to (NetworkConformance.RunAllocatorAsync).
var host = new PluginHost(args[0], args[1], args[2], "/run/wrenn", "/var/cache/wrenn");
var network = new NetnsNetwork(Options.Create(new NetnsOptions()), host, NullLogger<NetnsNetwork>.Instance);
await NetworkConformance.RunAllocatorAsync(network, int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture));
