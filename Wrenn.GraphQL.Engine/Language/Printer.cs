using System.Text;
using System.Text.Json;

namespace Wrenn.GraphQL.Engine.Language;

/// <summary>Prints values and type references back to GraphQL syntax (for messages, defaults and SDL).</summary>
public static class Printer
{
    public static string Print(TypeRef type) => type switch
    {
        NamedTypeRef n => n.Name,
        ListTypeRef l => $"[{Print(l.OfType)}]",
        NonNullTypeRef nn => $"{Print(nn.OfType)}!",
        _ => "",
    };

    public static string Print(Value value) => value switch
    {
        VariableValue v => "$" + v.Name,
        IntValue i => i.Raw,
        FloatValue f => f.Raw,
        StringValue s => s.Block ? BlockString(s.Text) : QuotedString(s.Text),
        BooleanValue b => b.Is ? "true" : "false",
        NullValue => "null",
        EnumValue e => e.Name,
        ListValue l => "[" + string.Join(", ", l.Items.Select(Print)) + "]",
        ObjectValue o => "{" + string.Join(", ", o.Fields.Select(f => $"{f.Name}: {Print(f.Value)}")) + "}",
        _ => "",
    };

    /// <summary>A string literal as graphql-js prints it: JSON escaping, but only the characters GraphQL needs.</summary>
    public static string QuotedString(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
                        sb.Append("\\u").Append(((int)c).ToString("X4"));
                    else
                        sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>A block string literal, laid out the way graphql-js lays it out.</summary>
    public static string BlockString(string value)
    {
        var escaped = value.Replace("\"\"\"", "\\\"\"\"");
        var lines = escaped.Split(["\r\n", "\n", "\r"], StringSplitOptions.None);
        var singleLine = lines.Length == 1;
        static bool White(char c) => c is ' ' or '\t';
        var forceLeadingNewLine = lines.Length > 1 && lines.Skip(1).All(l => l.Length == 0 || White(l[0]));
        var trailingTripleQuotes = escaped.EndsWith("\\\"\"\"", StringComparison.Ordinal);
        var trailingQuote = value.EndsWith('"') && !trailingTripleQuotes;
        var trailingSlash = value.EndsWith('\\');
        var forceTrailingNewLine = trailingQuote || trailingSlash;
        var multipleLines = !singleLine || value.Length > 70 || forceTrailingNewLine || forceLeadingNewLine || trailingTripleQuotes;
        var skipLeadingNewLine = singleLine && value.Length > 0 && White(value[0]);
        var result = new StringBuilder("\"\"\"");
        if ((multipleLines && !skipLeadingNewLine) || forceLeadingNewLine)
            result.Append('\n');
        result.Append(escaped);
        if (multipleLines || forceTrailingNewLine)
            result.Append('\n');
        return result.Append("\"\"\"").ToString();
    }

    /// <summary>Whether graphql-js would print this text as a block string (no control characters, sensible layout).</summary>
    public static bool PrintableAsBlockString(string value)
    {
        if (value.Length == 0)
            return true;
        var isEmptyLine = true;
        var hasIndent = false;
        var hasCommonIndent = true;
        var seenNonEmptyLine = false;
        for (var i = 0; i < value.Length; i++)
        {
            switch (value[i])
            {
                case '\u0000' or '\u0001' or '\u0002' or '\u0003' or '\u0004' or '\u0005' or '\u0006' or '\u0007' or '\u0008'
                    or '\u000B' or '\u000C' or '\u000E' or '\u000F':
                    return false;
                case '\r':
                    return false;
                case '\n':
                    if (isEmptyLine && !seenNonEmptyLine)
                        return false;
                    seenNonEmptyLine = true;
                    isEmptyLine = true;
                    hasIndent = false;
                    break;
                case '\t' or ' ':
                    hasIndent |= isEmptyLine;
                    break;
                default:
                    hasCommonIndent &= hasIndent;
                    isEmptyLine = false;
                    break;
            }
        }
        if (isEmptyLine)
            return false;
        if (hasCommonIndent && seenNonEmptyLine)
            return false;
        return true;
    }

    internal static string Json(object? value) => JsonSerializer.Serialize(value);
}
