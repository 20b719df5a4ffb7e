using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Newtonsoft.Json;
using Wrenn.Abstractions.Clock;
using Wrenn.Abstractions.Guest;
using Wrenn.Abstractions.Plugins;

namespace Example.ThirdPartyClock;

public sealed class ThirdPartyClockPlugin : IWrennPlugin
{
    public void Register(IServiceCollection services, IConfiguration configuration, PluginHost host) =>
        services.AddSingleton<IGuestClock>(new ThirdPartyClock(configuration["greeting"] ?? "none"));
}

/// <summary>Says which Newtonsoft.Json it got (its own, not the silo's) through the contract's KernelArgs.</summary>
public sealed class ThirdPartyClock(string greeting) : IGuestClock
{
    public string Name => "third-party-clock";

    public IReadOnlyList<string> KernelArgs =>
        [$"newtonsoft={typeof(JsonConvert).Assembly.GetName().Version}", $"json={JsonConvert.SerializeObject(new { greeting })}"];

    public Task<TimeSpan> SyncAsync(IGuestControl guest, CancellationToken cancellationToken) => Task.FromResult(TimeSpan.Zero);

    public Task KeepInSyncAsync(IGuestControl guest, CancellationToken cancellationToken) => Task.CompletedTask;
}
