using GraphQL.Types;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class TeamType : ObjectGraphType<TeamInfo>
{
    public TeamType()
    {
        Name = "Team";
        Field<NonNullGraphType<IdGraphType>, string>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>, string>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<DateTimeType>, DateTimeOffset>("createdAt").Resolve(c => c.Source.CreatedAt);
        Field<NonNullGraphType<TeamQuotaType>, TeamQuotaInfo>("quota")
            .ResolveAsync(async c => await c.Api().Backend.TeamQuotaAsync(c.Api().Caller, c.Source.Id, c.CancellationToken));
        Field<NonNullGraphType<TeamUsageType>, TeamUsageInfo>("usage")
            .ResolveAsync(async c => await c.Api().Backend.TeamUsageAsync(c.Api().Caller, c.Source.Id, c.CancellationToken));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ApiKeyType>>>, IReadOnlyList<ApiKeyListing>>("apiKeys").Description("The team's keys, revoked and expired ones too.")
            .ResolveAsync(async c => await c.Api().Backend.ApiKeysAsync(c.Api().Caller, c.Source.Id, c.CancellationToken));
    }
}
