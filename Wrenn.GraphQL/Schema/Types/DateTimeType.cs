using System.Globalization;
using GraphQL.Types;
using GraphQLParser.AST;

namespace Wrenn.GraphQL.Schema.Types;

/// <summary>Dates and times as ISO-8601 text in UTC with milliseconds (<c>2026-01-31T12:00:00.000Z</c>).</summary>
public sealed class DateTimeType : ScalarGraphType
{
    public const string SpecifiedBy = "https://www.rfc-editor.org/rfc/rfc3339";

    public DateTimeType()
    {
        Name = "DateTime";
        Description = "A date and time in UTC, as ISO-8601 text (RFC 3339).";
        // Read by the introspection field __Type.specifiedByURL and the SDL printer (GraphQL.NET has neither).
        Metadata[WrennSchema.SpecifiedByUrlKey] = SpecifiedBy;
    }

    public static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public override object? Serialize(object? value) => value switch
    {
        null => null,
        DateTimeOffset d => Format(d),
        DateTime d => Format(new DateTimeOffset(DateTime.SpecifyKind(d, d.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : d.Kind))),
        _ => ThrowSerializationError(value),
    };

    public override object? ParseValue(object? value) => value switch
    {
        null => null,
        string s => Parse(s),
        _ => ThrowValueConversionError(value),
    };

    public override object? ParseLiteral(GraphQLValue value) => value switch
    {
        GraphQLNullValue => null,
        GraphQLStringValue s => Parse((string)s.Value),
        _ => ThrowLiteralConversionError(value),
    };

    private static DateTimeOffset Parse(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed
            : throw new FormatException($"DateTime cannot represent \"{text}\": expected an ISO-8601 date and time such as 2026-01-31T12:00:00Z.");
}
