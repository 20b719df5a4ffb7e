using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class FileEventType : ObjectGraphType<FileChange>
{
    public FileEventType()
    {
        Name = "FileEvent";
        Description = "A change under a watched folder.";
        Field<NonNullGraphType<FileEventKindType>, FileChangeKind>("type").Resolve(c => c.Source.Kind);
        Field<NonNullGraphType<StringGraphType>, string>("path").Description("Absolute in the guest; for RENAME the new name.").Resolve(c => c.Source.Path);
        Field<StringGraphType, string?>("oldPath").Description("RENAME: the old name.").Resolve(c => c.Source.OldPath);
        Field<NonNullGraphType<BooleanGraphType>, bool>("isDirectory").Resolve(c => c.Source.IsDirectory);
    }
}
