using System.Security.Cryptography;
using System.Text;

namespace Wrenn.Silo.Webhooks;

/// <summary>
/// <c>Wrenn-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "t.body" under the webhook's secret&gt;</c>.
/// The time is the attempt's, so a receiver can refuse old replays; the body is signed byte for byte.
/// </summary>
public static class WebhookSignature
{
    public const string Header = "Wrenn-Signature";

    public static string Sign(string secret, long unixSeconds, string body)
    {
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{unixSeconds}.{body}"));
        return $"t={unixSeconds},v1={Convert.ToHexStringLower(mac)}";
    }
}
