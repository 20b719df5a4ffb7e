using System.CommandLine;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Data;

namespace Wrenn.Silo.Cli;

/// <summary><c>wrenn teams create NAME</c> and <c>wrenn keys create --team NAME</c>: operators make teams and keys.</summary>
internal static class AdminCommands
{
    public static Command Teams()
    {
        var name = new Argument<string>("name") { Description = "The new team's name." };
        var create = new Command("create", "Create a team and print its id.") { name, AdminDatabase.DataDirOption, AdminDatabase.PostgresOption };
        create.SetAction(async (parse, cancellationToken) =>
        {
            await using var database = await AdminDatabase.OpenAsync(parse, cancellationToken);
            var team = await new Teams(database.DataSource).CreateTeamAsync(parse.GetValue(name)!, cancellationToken);
            await new AuditLog(database.DataSource).RecordAsync(Caller.System, "team.create", team.Id, new { team.Name }, cancellationToken);
            Console.WriteLine($"{team.Id} {team.Name}");
            return 0;
        });
        return new Command("teams", "Manage teams.") { create };
    }

    public static Command Keys()
    {
        var team = new Option<string>("--team") { Description = "The team (name or id) the key acts for.", Required = true };
        var admin = new Option<bool>("--admin") { Description = "An admin key (may create teams and keys through the API)." };
        var create = new Command("create", "Create an API key; it is printed once.") { team, admin, AdminDatabase.DataDirOption, AdminDatabase.PostgresOption };
        create.SetAction(async (parse, cancellationToken) =>
        {
            await using var database = await AdminDatabase.OpenAsync(parse, cancellationToken);
            var teams = new Teams(database.DataSource);
            var found = await teams.FindTeamAsync(parse.GetValue(team)!, cancellationToken);
            if (found is null)
            {
                await Console.Error.WriteLineAsync($"wrenn: no team '{parse.GetValue(team)}'; create it with `wrenn teams create NAME`.");
                return 1;
            }
            var key = await teams.CreateKeyAsync(found.Id, parse.GetValue(admin) ? Role.Admin : Role.Member, cancellationToken);
            await new AuditLog(database.DataSource).RecordAsync(Caller.System, "key.create", key.Info.Id, new { team = found.Name }, cancellationToken);
            Console.Error.WriteLine($"API key {key.Info.Id} for team {found.Name} (shown once):");
            Console.WriteLine(key.Secret);
            return 0;
        });
        return new Command("keys", "Manage API keys.") { create };
    }
}
