using System.Net;
using Microsoft.Extensions.Options;

namespace Wrenn.Silo.Cluster;

/// <summary>How a silo joins its cluster (configuration <c>Wrenn:Cluster</c>).</summary>
public sealed class WrennClusterOptions
{
    public const string Section = "Wrenn:Cluster";

    /// <summary>Silos of one cluster share it (and the database); a database may hold several clusters.</summary>
    public string ClusterId { get; set; } = "wrenn";

    /// <summary>Grain state and reminders are kept under it; keep it across upgrades.</summary>
    public string ServiceId { get; set; } = "wrenn";

    /// <summary>The address other silos reach this one at.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Silo-to-silo port; 0 takes the one picked on the first start and kept in the data folder.</summary>
    public int SiloPort { get; set; }

    /// <summary>Port for Orleans clients; 0 takes the one picked on the first start and kept in the data folder.</summary>
    public int GatewayPort { get; set; }

    /// <summary>How long a probe of another silo may take before it counts as missed (Orleans' ProbeTimeout).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Missed probes before a silo votes another dead: detection takes about ProbeTimeout × this.</summary>
    public int MissedProbesLimit { get; set; } = 3;

    /// <summary>How often silos read the membership table even without news.</summary>
    public TimeSpan TableRefreshTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Rows of long-gone silo incarnations are deleted after this (Orleans' defunct-silo clean-up).</summary>
    public TimeSpan DefunctSiloExpiration { get; set; } = TimeSpan.FromDays(1);

    public IPAddress Advertised => IPAddress.Parse(AdvertisedAddress);
}

/// <summary>A bad cluster setting stops the silo at start with a message naming it.</summary>
public sealed class WrennClusterOptionsValidator : IValidateOptions<WrennClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, WrennClusterOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ClusterId))
            errors.Add($"{WrennClusterOptions.Section}:ClusterId must not be empty.");
        if (string.IsNullOrWhiteSpace(options.ServiceId))
            errors.Add($"{WrennClusterOptions.Section}:ServiceId must not be empty.");
        if (!IPAddress.TryParse(options.AdvertisedAddress, out var address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
            errors.Add($"{WrennClusterOptions.Section}:AdvertisedAddress must be an IP address other silos can reach (got '{options.AdvertisedAddress}').");
        foreach (var (key, port) in new[] { ("SiloPort", options.SiloPort), ("GatewayPort", options.GatewayPort) })
        {
            if (port is < 0 or > 65535)
                errors.Add($"{WrennClusterOptions.Section}:{key} must be between 0 and 65535 (got {port}).");
        }
        if (options.SiloPort != 0 && options.SiloPort == options.GatewayPort)
            errors.Add($"{WrennClusterOptions.Section}:SiloPort and GatewayPort must differ (both {options.SiloPort}).");
        if (options.ProbeTimeout < TimeSpan.FromMilliseconds(100) || options.ProbeTimeout > TimeSpan.FromMinutes(1))
            errors.Add($"{WrennClusterOptions.Section}:ProbeTimeout must be between 100 ms and 1 minute (got {options.ProbeTimeout}).");
        if (options.MissedProbesLimit is < 1 or > 20)
            errors.Add($"{WrennClusterOptions.Section}:MissedProbesLimit must be between 1 and 20 (got {options.MissedProbesLimit}).");
        if (options.TableRefreshTimeout < TimeSpan.FromSeconds(1))
            errors.Add($"{WrennClusterOptions.Section}:TableRefreshTimeout must be at least 1 second (got {options.TableRefreshTimeout}).");
        if (options.DefunctSiloExpiration < TimeSpan.FromMinutes(1))
            errors.Add($"{WrennClusterOptions.Section}:DefunctSiloExpiration must be at least 1 minute (got {options.DefunctSiloExpiration}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
