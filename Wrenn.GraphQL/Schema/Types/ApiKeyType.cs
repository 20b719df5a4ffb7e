using GraphQL.Types;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class ApiKeyType : ObjectGraphType<ApiKeyListing>
{
    public ApiKeyType()
    {
        Name = "ApiKey";
        Description = "One of a team's API keys: never its secret, only a hint of it.";
        Field<NonNullGraphType<IdGraphType>, string>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<BooleanGraphType>, bool>("admin").Resolve(c => c.Source.Admin);
        Field<NonNullGraphType<StringGraphType>, string>("hint").Description("Its first and last characters.").Resolve(c => c.Source.Hint);
        Field<NonNullGraphType<DateTimeType>, DateTimeOffset>("createdAt").Resolve(c => c.Source.CreatedAt);
        Field<DateTimeType, DateTimeOffset?>("expiresAt").Description("When it stops working (null: never).").Resolve(c => c.Source.ExpiresAt);
        Field<DateTimeType, DateTimeOffset?>("lastUsedAt").Description("When it last authenticated a request, to the minute (null: never).").Resolve(c => c.Source.LastUsedAt);
        Field<DateTimeType, DateTimeOffset?>("revokedAt").Resolve(c => c.Source.RevokedAt);
    }
}
