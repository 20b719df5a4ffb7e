using GraphQL.Types;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class NewApiKeyType : ObjectGraphType<NewApiKeyInfo>
{
    public NewApiKeyType()
    {
        Name = "NewApiKey";
        Description = "A new API key: `key` is shown this once and never stored.";
        Field<NonNullGraphType<IdGraphType>, string>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<IdGraphType>, string>("teamId").Resolve(c => c.Source.TeamId);
        Field<NonNullGraphType<BooleanGraphType>, bool>("admin").Resolve(c => c.Source.Admin);
        Field<NonNullGraphType<StringGraphType>, string>("key").Resolve(c => c.Source.Key);
        Field<DateTimeType, DateTimeOffset?>("expiresAt").Resolve(c => c.Source.ExpiresAt);
    }
}
