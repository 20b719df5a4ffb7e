using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class TemplateType : ObjectGraphType<TemplateInfo>
{
    public TemplateType()
    {
        Name = "Template";
        Description = "What sandboxes start from: a guest image, or a frozen sandbox.";
        Field<NonNullGraphType<IdGraphType>, string>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>, string>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<BooleanGraphType>, bool>("public").Description("Usable by every team.").Resolve(c => c.Source.IsPublic);
        Field<NonNullGraphType<TemplateKindType>, TemplateKind>("kind").Resolve(c => c.Source.Kind);
        Field<NonNullGraphType<IntGraphType>, int>("vcpus").Description("Default vCPUs of its sandboxes.").Resolve(c => c.Source.Vcpus);
        Field<NonNullGraphType<IntGraphType>, int>("memoryMib").Resolve(c => c.Source.MemoryMib);
        Field<NonNullGraphType<IntGraphType>, int>("sandboxes").Description("Sandboxes using it now; it cannot be deleted while any do.").Resolve(c => c.Source.SandboxesUsingIt);
        Field<NonNullGraphType<DateTimeType>, DateTimeOffset>("createdAt").Resolve(c => c.Source.CreatedAt);
    }
}
