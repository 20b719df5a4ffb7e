using System.Diagnostics.CodeAnalysis;

namespace Wrenn.Grains.Ids;

/// <summary>
/// Shared parsing and formatting for ids whose wire format is <c>{prefix}-{uuid}</c>
/// (lower-case, hyphenated UUID). Inside Wrenn ids are UUIDs; the prefix exists at the boundaries
/// so that a template id passed where a sandbox id belongs is refused with a clear message.
/// </summary>
public static class PrefixedId
{
    public static string Format(string prefix, Guid value) => $"{prefix}-{value:D}";

    public static bool TryParse(string? text, string prefix, out Guid value)
    {
        value = Guid.Empty;
        if (text is null || text.Length != prefix.Length + 1 + 36
            || !text.StartsWith(prefix, StringComparison.Ordinal) || text[prefix.Length] != '-')
            return false;
        return Guid.TryParseExact(text.AsSpan(prefix.Length + 1), "D", out value);
    }

    public static Guid Parse(string? text, string prefix, string what) =>
        TryParse(text, prefix, out var value)
            ? value
            : throw new FormatException($"'{text}' is not a {what} id: expected '{prefix}-' followed by a UUID, e.g. {Format(prefix, Guid.Empty)}.");
}

/// <summary>A sandbox id, <c>sb-{uuid}</c> on the wire.</summary>
public readonly record struct SandboxId(Guid Value) : IParsable<SandboxId>
{
    public const string Prefix = "sb";
    public static SandboxId New() => new(Guid.NewGuid());
    public override string ToString() => PrefixedId.Format(Prefix, Value);
    public static SandboxId Parse(string s, IFormatProvider? provider = null) => new(PrefixedId.Parse(s, Prefix, "sandbox"));
    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, out SandboxId result)
    {
        var ok = PrefixedId.TryParse(s, Prefix, out var value);
        result = new(value);
        return ok;
    }
}

/// <summary>A template id, <c>tpl-{uuid}</c> on the wire.</summary>
public readonly record struct TemplateId(Guid Value) : IParsable<TemplateId>
{
    public const string Prefix = "tpl";
    public static TemplateId New() => new(Guid.NewGuid());
    public override string ToString() => PrefixedId.Format(Prefix, Value);
    public static TemplateId Parse(string s, IFormatProvider? provider = null) => new(PrefixedId.Parse(s, Prefix, "template"));
    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, out TemplateId result)
    {
        var ok = PrefixedId.TryParse(s, Prefix, out var value);
        result = new(value);
        return ok;
    }
}

/// <summary>A host (silo) id, <c>host-{uuid}</c> on the wire.</summary>
public readonly record struct HostId(Guid Value) : IParsable<HostId>
{
    public const string Prefix = "host";
    public static HostId New() => new(Guid.NewGuid());
    public override string ToString() => PrefixedId.Format(Prefix, Value);
    public static HostId Parse(string s, IFormatProvider? provider = null) => new(PrefixedId.Parse(s, Prefix, "host"));
    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, out HostId result)
    {
        var ok = PrefixedId.TryParse(s, Prefix, out var value);
        result = new(value);
        return ok;
    }
}
