namespace Wrenn.Abstractions.Plugins;

/// <summary>
/// Rules for names of host objects (netns, links, files), shared by plugins so that
/// reconcilers recognise their own objects and never touch anyone else's.
/// </summary>
public static class HostObjectNames
{
    /// <summary>Linux limits interface names to 15 bytes (IFNAMSIZ - 1).</summary>
    public const int MaxLinkNameLength = 15;

    /// <summary>Longest owner prefix a silo or test run may use.</summary>
    public const int MaxOwnerPrefixLength = 6;

    /// <summary>Checks an owner prefix: 1–6 characters of [a-z0-9], starting with a letter.</summary>
    public static void ValidateOwnerPrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length is 0 or > MaxOwnerPrefixLength
            || !char.IsAsciiLetterLower(prefix[0])
            || !prefix.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c)))
        {
            throw new ArgumentException(
                $"Owner prefix '{prefix}' is invalid: use 1–{MaxOwnerPrefixLength} characters of a-z and 0-9, starting with a letter.",
                nameof(prefix));
        }
    }

    /// <summary>Returns <paramref name="name"/> after checking it fits a Linux interface name.</summary>
    public static string Link(string name)
    {
        if (name.Length > MaxLinkNameLength)
            throw new ArgumentException($"Link name '{name}' is longer than {MaxLinkNameLength} characters.", nameof(name));
        return name;
    }
}
