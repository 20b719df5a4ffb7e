using System.Globalization;
using System.Text;

namespace Wrenn.GraphQL.Engine.Language;

public enum TokenKind { Eof, Bang, Dollar, Amp, ParenL, ParenR, Spread, Colon, Equals, At, BracketL, BracketR, BraceL, Pipe, BraceR, Name, Int, Float, String, BlockString }

public readonly record struct Token(TokenKind Kind, int Start, int End, Location Location, string? Value);

/// <summary>The lexical grammar of the spec (section 2.1): one token at a time, ignored tokens skipped.</summary>
public sealed class Lexer(string source, int maxTokens = int.MaxValue)
{
    private int _pos;
    private int _line = 1;
    private int _lineStart;
    private int _count;

    public string Source => source;

    private Location Here(int at) => new(_line, at - _lineStart + 1);

    private GraphQLSyntaxException Error(string message, int at) => new(message, Here(at));

    public Token Next()
    {
        SkipIgnored();
        if (_pos >= source.Length) return new Token(TokenKind.Eof, _pos, _pos, Here(_pos), null);
        if (++_count > maxTokens)
            throw Error($"Document contains more than {maxTokens} tokens; send a smaller document.", _pos);
        int start = _pos;
        char c = source[_pos];
        TokenKind? punct = c switch
        {
            '!' => TokenKind.Bang, '$' => TokenKind.Dollar, '&' => TokenKind.Amp, '(' => TokenKind.ParenL,
            ')' => TokenKind.ParenR, ':' => TokenKind.Colon, '=' => TokenKind.Equals, '@' => TokenKind.At,
            '[' => TokenKind.BracketL, ']' => TokenKind.BracketR, '{' => TokenKind.BraceL, '|' => TokenKind.Pipe,
            '}' => TokenKind.BraceR, _ => null,
        };
        if (punct is { } p) { _pos++; return new Token(p, start, _pos, Here(start), null); }
        if (c == '.')
        {
            if (_pos + 2 < source.Length + 0 && Peek(1) == '.' && Peek(2) == '.') { _pos += 3; return new Token(TokenKind.Spread, start, _pos, Here(start), null); }
            throw Error("Unexpected \".\", did you mean \"...\"?", start);
        }
        if (IsNameStart(c))
        {
            while (_pos < source.Length && IsNameContinue(source[_pos])) _pos++;
            return new Token(TokenKind.Name, start, _pos, Here(start), source[start.._pos]);
        }
        if (c == '-' || char.IsAsciiDigit(c)) return ReadNumber(start);
        if (c == '"')
        {
            if (Peek(1) == '"' && Peek(2) == '"') return ReadBlockString(start);
            return ReadString(start);
        }
        throw Error(c < ' ' || c > '~' ? $"Unexpected character: U+{(int)c:X4}." : $"Unexpected character: \"{c}\".", start);
    }

    private char Peek(int ahead) => _pos + ahead < source.Length ? source[_pos + ahead] : '\0';

    private static bool IsNameStart(char c) => c == '_' || char.IsAsciiLetter(c);
    private static bool IsNameContinue(char c) => c == '_' || char.IsAsciiLetterOrDigit(c);

    private void NewLine(int afterTerminator) { _line++; _lineStart = afterTerminator; }

    private void SkipIgnored()
    {
        while (_pos < source.Length)
        {
            char c = source[_pos];
            switch (c)
            {
                case '\uFEFF': case ' ': case '\t': case ',': _pos++; break;
                case '\n': _pos++; NewLine(_pos); break;
                case '\r': _pos += Peek(1) == '\n' ? 2 : 1; NewLine(_pos); break;
                case '#':
                    while (_pos < source.Length && source[_pos] != '\n' && source[_pos] != '\r') _pos++;
                    break;
                default: return;
            }
        }
    }

    private Token ReadNumber(int start)
    {
        bool isFloat = false;
        if (source[_pos] == '-') _pos++;
        if (Peek(0) == '0')
        {
            _pos++;
            if (char.IsAsciiDigit(Peek(0))) throw Error($"Invalid number, unexpected digit after 0: \"{Peek(0)}\".", _pos);
        }
        else ReadDigits();
        if (Peek(0) == '.') { isFloat = true; _pos++; ReadDigits(); }
        if (Peek(0) is 'e' or 'E')
        {
            isFloat = true; _pos++;
            if (Peek(0) is '+' or '-') _pos++;
            ReadDigits();
        }
        char next = Peek(0);
        if (next == '.' || IsNameStart(next))
            throw Error($"Invalid number, expected digit but got: \"{next}\".", _pos);
        return new Token(isFloat ? TokenKind.Float : TokenKind.Int, start, _pos, Here(start), source[start.._pos]);
    }

    private void ReadDigits()
    {
        if (!char.IsAsciiDigit(Peek(0)))
            throw Error(_pos >= source.Length ? "Invalid number, expected digit but got: <EOF>." : $"Invalid number, expected digit but got: \"{Peek(0)}\".", _pos);
        while (char.IsAsciiDigit(Peek(0))) _pos++;
    }

    private Token ReadString(int start)
    {
        _pos++;
        var sb = new StringBuilder();
        while (_pos < source.Length)
        {
            char c = source[_pos];
            if (c == '"') { _pos++; return new Token(TokenKind.String, start, _pos, Here(start), sb.ToString()); }
            if (c is '\n' or '\r') break;
            if (c == '\\')
            {
                char e = Peek(1);
                switch (e)
                {
                    case '"': sb.Append('"'); _pos += 2; break;
                    case '\\': sb.Append('\\'); _pos += 2; break;
                    case '/': sb.Append('/'); _pos += 2; break;
                    case 'b': sb.Append('\b'); _pos += 2; break;
                    case 'f': sb.Append('\f'); _pos += 2; break;
                    case 'n': sb.Append('\n'); _pos += 2; break;
                    case 'r': sb.Append('\r'); _pos += 2; break;
                    case 't': sb.Append('\t'); _pos += 2; break;
                    case 'u': ReadUnicodeEscape(sb); break;
                    default: throw Error($"Invalid character escape sequence: \"\\{e}\".", _pos);
                }
                continue;
            }
            if (c < ' ' && c != '\t') throw Error($"Invalid character within String: U+{(int)c:X4}.", _pos);
            sb.Append(c);
            _pos++;
        }
        throw Error("Unterminated string.", _pos);
    }

    // \uXXXX, \u{X...} (variable width) and surrogate pairs written as two fixed-width escapes.
    private void ReadUnicodeEscape(StringBuilder sb)
    {
        int escStart = _pos;
        _pos += 2;
        int code;
        if (Peek(0) == '{')
        {
            int close = source.IndexOf('}', _pos);
            if (close < 0 || close - _pos - 1 is < 1 or > 8 || !int.TryParse(source.AsSpan(_pos + 1, close - _pos - 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out code) || code > 0x10FFFF || code is >= 0xD800 and <= 0xDFFF)
                throw Error("Invalid Unicode escape sequence.", escStart);
            _pos = close + 1;
            sb.Append(char.ConvertFromUtf32(code));
            return;
        }
        code = ReadHex4(escStart);
        if (char.IsHighSurrogate((char)code) && Peek(0) == '\\' && Peek(1) == 'u')
        {
            int save = _pos;
            _pos += 2;
            int low = ReadHex4(escStart);
            if (char.IsLowSurrogate((char)low)) { sb.Append((char)code).Append((char)low); return; }
            _pos = save;
        }
        if (code is >= 0xD800 and <= 0xDFFF) throw Error("Invalid Unicode escape sequence.", escStart);
        sb.Append((char)code);
    }

    private int ReadHex4(int escStart)
    {
        if (_pos + 4 > source.Length || !int.TryParse(source.AsSpan(_pos, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int v))
            throw Error("Invalid Unicode escape sequence.", escStart);
        _pos += 4;
        return v;
    }

    private Token ReadBlockString(int start)
    {
        Location loc = Here(start);
        _pos += 3;
        var raw = new StringBuilder();
        while (_pos < source.Length)
        {
            char c = source[_pos];
            if (c == '"' && Peek(1) == '"' && Peek(2) == '"')
            {
                _pos += 3;
                return new Token(TokenKind.BlockString, start, _pos, loc, BlockStringValue(raw.ToString()));
            }
            if (c == '\\' && Peek(1) == '"' && Peek(2) == '"' && Peek(3) == '"') { raw.Append("\"\"\""); _pos += 4; continue; }
            if (c == '\n') { raw.Append(c); _pos++; NewLine(_pos); continue; }
            if (c == '\r') { raw.Append('\n'); _pos += Peek(1) == '\n' ? 2 : 1; NewLine(_pos); continue; }
            if (c < ' ' && c != '\t') throw Error($"Invalid character within String: U+{(int)c:X4}.", _pos);
            raw.Append(c);
            _pos++;
        }
        throw Error("Unterminated string.", _pos);
    }

    /// <summary>BlockStringValue(rawValue) from the spec: common indentation and blank first/last lines removed.</summary>
    public static string BlockStringValue(string raw)
    {
        string[] lines = raw.Split('\n');
        int? common = null;
        for (int i = 1; i < lines.Length; i++)
        {
            string line = lines[i];
            int indent = 0;
            while (indent < line.Length && line[indent] is ' ' or '\t') indent++;
            if (indent < line.Length && (common is null || indent < common)) common = indent;
        }
        if (common is int n)
            for (int i = 1; i < lines.Length; i++)
                lines[i] = lines[i].Length >= n ? lines[i][n..] : "";
        int first = 0, last = lines.Length - 1;
        while (first <= last && IsBlank(lines[first])) first++;
        while (last >= first && IsBlank(lines[last])) last--;
        return first > last ? "" : string.Join('\n', lines, first, last - first + 1);
    }

    private static bool IsBlank(string line) => line.All(ch => ch is ' ' or '\t');
}
