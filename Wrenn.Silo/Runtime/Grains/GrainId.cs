namespace Wrenn.Silo.Runtime.Grains;

/// <summary>A grain's identity in the cluster: its kind and its key, written <c>kind/key</c>.</summary>
public readonly record struct GrainId(string Kind, string Key)
{
    public override string ToString() => $"{Kind}/{Key}";

    public static GrainId Parse(string text)
    {
        var slash = text.IndexOf('/');
        if (slash <= 0)
            throw new FormatException($"'{text}' is not a grain id; expected kind/key.");
        return new GrainId(text[..slash], text[(slash + 1)..]);
    }
}
