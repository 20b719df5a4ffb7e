using GraphQL.Types;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class WebhookDeliveryType : ObjectGraphType<WebhookDeliveryInfo>
{
    public WebhookDeliveryType()
    {
        Name = "WebhookDelivery";
        Description = "One event for one webhook; its id is the Wrenn-Delivery header, the same on every attempt.";
        Field<NonNullGraphType<IdGraphType>, string>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<IdGraphType>, string>("webhookId").Resolve(c => c.Source.WebhookId);
        Field<NonNullGraphType<IdGraphType>, string>("sandboxId").Resolve(c => c.Source.SandboxId);
        Field<NonNullGraphType<SandboxEventKindType>, SandboxEventKind>("event").Resolve(c => c.Source.Event);
        Field<NonNullGraphType<WebhookDeliveryStatusType>, WebhookDeliveryStatus>("status").Resolve(c => c.Source.Status);
        Field<NonNullGraphType<IntGraphType>, int>("attempts").Resolve(c => c.Source.Attempts);
        Field<IntGraphType, int?>("lastStatusCode").Description("The HTTP status of the last attempt (null: no answer).").Resolve(c => c.Source.LastStatusCode);
        Field<StringGraphType, string?>("lastError").Description("Why the last attempt failed.").Resolve(c => c.Source.LastError);
        Field<NonNullGraphType<DateTimeType>, DateTimeOffset>("createdAt").Resolve(c => c.Source.CreatedAt);
        Field<DateTimeType, DateTimeOffset?>("deliveredAt").Resolve(c => c.Source.DeliveredAt);
        Field<DateTimeType, DateTimeOffset?>("nextAttemptAt").Description("While PENDING: when it is tried next.").Resolve(c => c.Source.NextAttemptAt);
    }
}
