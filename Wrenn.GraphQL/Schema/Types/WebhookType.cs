using GraphQL.Types;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class WebhookType : ObjectGraphType<WebhookInfo>
{
    public WebhookType()
    {
        Name = "Webhook";
        Description = "A receiver of your team's sandbox events: each is POSTed as JSON, signed with its secret (Wrenn-Signature: t=…,v1=…).";
        Field<NonNullGraphType<IdGraphType>, string>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>, string>("url").Resolve(c => c.Source.Url);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<SandboxEventKindType>>>, IReadOnlyList<SandboxEventKind>>("events").Resolve(c => c.Source.Events);
        Field<NonNullGraphType<DateTimeType>, DateTimeOffset>("createdAt").Resolve(c => c.Source.CreatedAt);
    }
}
