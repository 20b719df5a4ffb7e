using GraphQL.Types;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.GraphQL.Schema.Types;

public sealed class FileInfoType : ObjectGraphType<FileEntry>
{
    public FileInfoType()
    {
        Name = "FileInfo";
        Field<NonNullGraphType<StringGraphType>, string>("path").Resolve(c => c.Source.Path);
        Field<NonNullGraphType<StringGraphType>, string>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<BooleanGraphType>, bool>("isDirectory").Resolve(c => c.Source.IsDirectory);
        Field<NonNullGraphType<FloatGraphType>, double>("size").Description("Bytes (a Float: files may pass 2 GiB).").Resolve(c => c.Source.Size);
        Field<DateTimeType, DateTimeOffset?>("modifiedAt").Resolve(c => c.Source.ModifiedAt);
    }
}
