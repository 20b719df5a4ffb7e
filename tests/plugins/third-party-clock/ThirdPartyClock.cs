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

/// <summary>
/// Says which Newtonsoft.Json it got (its own, not the silo's) through the contract's KernelArgs.
/// For the tests of the silo's call log, a sync of the sandbox <c>sb-failing</c> fails and one of
/// <c>sb-slow</c> takes 100 ms.
/// </summary>
public sealed class ThirdPartyClock(string greeting) : IGuestClock
{
    public string Name => "third-party-clock";

    public IReadOnlyList<string> KernelArgs =>
        [$"newtonsoft={typeof(JsonConvert).Assembly.GetName().Version}", $"json={JsonConvert.SerializeObject(new { greeting })}"];

    public async Task<TimeSpan> SyncAsync(IGuestControl guest, CancellationToken cancellationToken)
    {
        if (guest.SandboxId == "sb-failing")
            throw new InvalidOperationException("the third-party clock cannot reach sb-failing");
        if (guest.SandboxId == "sb-slow")
            await Task.Delay(100, cancellationToken);
        return TimeSpan.Zero;
    }

    public Task KeepInSyncAsync(IGuestControl guest, CancellationToken cancellationToken) => Task.CompletedTask;
}
