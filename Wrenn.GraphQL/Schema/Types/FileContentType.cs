using GraphQL.Types;

namespace Wrenn.GraphQL.Schema.Types;

/// <summary>A file read through the API: its text (or base64), as asked.</summary>
public sealed record FileContent(string Path, string Content, FileEncoding Encoding, int Size);

public sealed class FileContentType : ObjectGraphType<FileContent>
{
    public FileContentType()
    {
        Name = "FileContent";
        Field<NonNullGraphType<StringGraphType>, string>("path").Resolve(c => c.Source.Path);
        Field<NonNullGraphType<StringGraphType>, string>("content").Resolve(c => c.Source.Content);
        Field<NonNullGraphType<FileEncodingType>, FileEncoding>("encoding").Resolve(c => c.Source.Encoding);
        Field<NonNullGraphType<IntGraphType>, int>("size").Resolve(c => c.Source.Size);
    }
}
