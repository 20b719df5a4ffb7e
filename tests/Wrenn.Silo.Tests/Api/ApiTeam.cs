using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Data;

namespace Wrenn.Silo.Tests.Api;

/// <summary>A team of its own for one test (so that what it lists is only what it made), with records written straight to the silo's store (no VM).</summary>
public sealed record ApiTeam(ApiFixture Api, Caller Caller, string Key)
{
    public static async Task<ApiTeam> CreateAsync(ApiFixture api)
    {
        var team = await api.Silo.Host.Teams.CreateTeamAsync($"t-{Guid.NewGuid():N}"[..20], CancellationToken.None);
        var key = await api.Silo.Host.Teams.CreateKeyAsync(team.Id, Role.Member, CancellationToken.None);
        return new ApiTeam(api, new Caller(team.Id, key.Info.Id, Role.Member), key.Secret);
    }

    /// <summary>A host no silo has: the reconciler (which adopts live records of its own host) leaves records there alone.</summary>
    public const string Nowhere = "wt-no-such-host";

    /// <summary>
    /// A sandbox record as the sandbox grain writes one, from the base template; nothing runs for it. On this
    /// silo's host only in a state its reconciler ignores (terminal), else on <see cref="Nowhere"/>.
    /// </summary>
    public async Task<SandboxRecord> InsertSandboxAsync(SandboxState state, DateTimeOffset? createdAt = null, string host = Nowhere)
    {
        var template = (await Api.Silo.Host.Templates.ResolveAsync(Caller, TemplateCatalog.BaseName, CancellationToken.None))!;
        return await Api.Silo.Host.Store.InsertAsync(new SandboxRecord($"sb-{Guid.NewGuid():D}", Caller.TeamId, template.Id, host, state,
            1, 256, createdAt ?? DateTimeOffset.UtcNow, null, new Dictionary<string, string>(), null, null, 0), CancellationToken.None);
    }
}
