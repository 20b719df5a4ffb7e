using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class TemplateKindType : EnumerationGraphType<TemplateKind>
{
    public TemplateKindType()
    {
        Name = "TemplateKind";
        Values.FindByValue(TemplateKind.Image)!.Description = "A guest image: sandboxes boot from it.";
        Values.FindByValue(TemplateKind.Snapshot)!.Description = "A frozen sandbox: sandboxes resume from it.";
    }
}
