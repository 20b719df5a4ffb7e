using Microsoft.Extensions.Hosting;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Data;

namespace Wrenn.Silo.Hosting.Startup;

/// <summary>What the very first start of a database made: the admin team's key, to be shown once.</summary>
public sealed class FirstStart
{
    public string? AdminKey { get; internal set; }
}

/// <summary>
/// Once the silo has joined its cluster: the public <c>base</c> template (the guest image), and on
/// a fresh database the admin team with its first key.
/// </summary>
public sealed class PlatformStartup(TemplateCatalog templates, Teams teams, AuditLog audit, FirstStart firstStart, WrennSiloOptions options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await templates.EnsureBaseAsync(options.ImageDir, options.BaseVcpus, options.BaseMemoryMib, cancellationToken);
        if (await teams.AnyTeamAsync(cancellationToken))
            return;
        var team = await teams.CreateTeamAsync("admin", cancellationToken);
        var key = await teams.CreateKeyAsync(team.Id, Role.Admin, cancellationToken);
        await audit.RecordAsync(new Caller(team.Id, key.Info.Id, Role.Admin), "team.create", team.Id, new { team.Name, firstStart = true }, cancellationToken);
        firstStart.AdminKey = key.Secret;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
