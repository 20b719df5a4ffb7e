using System.Text;
using System.Text.Json;
using Google.Protobuf;

namespace Wrenn.Guest.Protocol.Connect;

/// <summary>The two codecs Connect defines for protobuf messages: binary (<c>proto</c>) and JSON (<c>json</c>).</summary>
public sealed class ConnectCodec
{
    public static readonly ConnectCodec Proto = new("proto");
    public static readonly ConnectCodec Json = new("json");

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    private ConnectCodec(string name) => Name = name;

    /// <summary><c>proto</c> or <c>json</c>.</summary>
    public string Name { get; }

    public string UnaryContentType => "application/" + Name;
    public string StreamingContentType => "application/connect+" + Name;

    /// <summary>Finds the codec a Content-Type names, for unary or streaming calls; null when it is neither.</summary>
    public static ConnectCodec? FromContentType(string? contentType, bool streaming)
    {
        var mediaType = contentType?.Split(';')[0].Trim().ToLowerInvariant();
        var prefix = streaming ? "application/connect+" : "application/";
        return mediaType switch
        {
            _ when mediaType == prefix + "proto" => Proto,
            _ when mediaType == prefix + "json" => Json,
            _ => null,
        };
    }

    public byte[] Serialize(IMessage message) =>
        this == Proto ? message.ToByteArray() : Encoding.UTF8.GetBytes(Formatter.Format(message));

    public T Deserialize<T>(MessageParser<T> parser, ReadOnlySpan<byte> data) where T : IMessage<T>
    {
        try
        {
            if (this == Proto)
                return parser.ParseFrom(data);
            // An empty JSON body means the empty message, as for proto.
            var empty = parser.ParseFrom(ReadOnlySpan<byte>.Empty);
            return data.IsEmpty ? empty : (T)Parser.Parse(Encoding.UTF8.GetString(data), empty.Descriptor);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or FormatException)
        {
            throw new ConnectException(ConnectCode.InvalidArgument, $"The message is not a valid {typeof(T).Name} ({Name}): {e.Message}");
        }
    }

    /// <summary>A Connect error as JSON: <c>{"code": "...", "message": "..."}</c>.</summary>
    public static byte[] ErrorJson(ConnectException error)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("code", error.Code.ToWire());
            writer.WriteString("message", error.Message);
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>The end-of-stream message: <c>{}</c>, or <c>{"error": {...}}</c>.</summary>
    public static byte[] EndStreamJson(ConnectException? error)
    {
        if (error is null)
            return "{}"u8.ToArray();
        var inner = Encoding.UTF8.GetString(ErrorJson(error));
        return Encoding.UTF8.GetBytes("{\"error\":" + inner + "}");
    }

    /// <summary>
    /// Reads an end-of-stream message: null for a clean end (<c>{}</c>, maybe with metadata), the
    /// error it carries otherwise.
    /// </summary>
    public static ConnectException? ParseEndStream(ReadOnlySpan<byte> payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                return new ConnectException(ConnectCode.DataLoss, "The end-of-stream message is not a JSON object.");
            if (!document.RootElement.TryGetProperty("error", out var error) || error.ValueKind == JsonValueKind.Null)
                return null;
        }
        catch (JsonException e)
        {
            return new ConnectException(ConnectCode.DataLoss, $"The end-of-stream message is not JSON: {e.Message}");
        }
        return ParseError(payload, 200);
    }

    /// <summary>Reads a Connect error body; anything unreadable becomes an error inferred from the HTTP status.</summary>
    public static ConnectException ParseError(ReadOnlySpan<byte> body, int httpStatus)
    {
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            var element = document.RootElement;
            if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty("error", out var wrapped))
                element = wrapped;
            if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty("code", out var code))
            {
                var message = element.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "";
                return new ConnectException(ConnectCodes.FromWire(code.GetString()), message);
            }
        }
        catch (JsonException)
        {
            // Not a Connect error body: fall through to the HTTP status.
        }
        return new ConnectException(ConnectCodes.FromHttpStatus(httpStatus), $"HTTP {httpStatus} without a Connect error body.");
    }
}
