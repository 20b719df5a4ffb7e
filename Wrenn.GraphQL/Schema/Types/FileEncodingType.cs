using GraphQL.Types;

namespace Wrenn.GraphQL.Schema.Types;

public enum FileEncoding { Utf8, Base64 }

public sealed class FileEncodingType : EnumerationGraphType
{
    public FileEncodingType()
    {
        Name = "FileEncoding";
        // Named by hand: GraphQL.NET's naming would make Utf8 UTF_8.
        Add("UTF8", FileEncoding.Utf8, "Text.");
        Add("BASE64", FileEncoding.Base64, "Bytes, base64-encoded.");
    }
}
