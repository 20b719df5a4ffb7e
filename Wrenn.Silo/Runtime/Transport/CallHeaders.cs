namespace Wrenn.Silo.Runtime.Transport;

/// <summary>The headers of a call between silos (values are URI-escaped: grain keys are user text).</summary>
internal static class CallHeaders
{
    public const string Path = "/wrenn/v1/call";
    public const string Grain = "wrenn-grain";
    public const string Method = "wrenn-method";
    public const string Target = "wrenn-target";
    public const string Chain = "wrenn-chain";
    public const string PinTo = "wrenn-pin-to";
    public const string TimeoutMs = "wrenn-timeout-ms";

    public static string Escape(string value) => Uri.EscapeDataString(value);

    public static string Unescape(string value) => Uri.UnescapeDataString(value);
}
