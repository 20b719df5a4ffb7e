using System.Text;

namespace Wrenn.GraphQL.Schema;

/// <summary>
/// Turns a command's output bytes into text events: cut only at line ends, so a line (and a UTF-8
/// character) is never split; a partial line waits for its newline, for the exit, or for 64 KiB.
/// </summary>
public sealed class OutputLines
{
    public const int MaxPending = 64 * 1024;
    private readonly List<byte> _pending = [];

    /// <summary>Adds bytes; returns the text of the complete lines (or of a full 64 KiB buffer), or null.</summary>
    public string? Add(ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
            _pending.Add(b);
        var lastNewline = _pending.LastIndexOf((byte)'\n');
        if (lastNewline >= 0)
            return Take(lastNewline + 1);
        if (_pending.Count >= MaxPending)
            return Take(SafeCut());
        return null;
    }

    /// <summary>What is left (at the exit).</summary>
    public string? Flush() => _pending.Count == 0 ? null : Take(_pending.Count);

    /// <summary>A cut before a UTF-8 character that is not complete yet.</summary>
    private int SafeCut()
    {
        var cut = _pending.Count;
        var back = 0;
        while (back < 4 && cut - back - 1 >= 0 && (_pending[cut - back - 1] & 0xC0) == 0x80)
            back++;
        if (cut - back - 1 >= 0)
        {
            var lead = _pending[cut - back - 1];
            var length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
            if (length > back + 1)
                return cut - back - 1;
        }
        return cut;
    }

    private string Take(int count)
    {
        var text = Encoding.UTF8.GetString(_pending.GetRange(0, count).ToArray());
        _pending.RemoveRange(0, count);
        return text;
    }
}
