using GraphQL.Types;
using Wrenn.GraphQL.Backend;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class WebhookDeliveryStatusType : EnumerationGraphType<WebhookDeliveryStatus>
{
    public WebhookDeliveryStatusType()
    {
        Name = "WebhookDeliveryStatus";
        Values.FindByValue(WebhookDeliveryStatus.Pending)!.Description = "Not answered with a 2xx yet: it is tried (again) at nextAttemptAt.";
        Values.FindByValue(WebhookDeliveryStatus.Delivered)!.Description = "The receiver answered with a 2xx.";
        Values.FindByValue(WebhookDeliveryStatus.Failed)!.Description = "Given up: its retry time passed, or its webhook was deleted.";
    }
}
