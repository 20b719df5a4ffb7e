namespace Wrenn.GraphQL.Schema;

/// <summary>Bytes sent as a base64 argument (encoding: BASE64).</summary>
internal static class Base64Argument
{
    public static byte[] Decode(string text, string argument)
    {
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw ApiErrors.Error("BAD_USER_INPUT", $"{argument} is not valid base64 (encoding: BASE64).");
        }
    }
}
