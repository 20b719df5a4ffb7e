namespace Wrenn.Silo.Persistence.LocalPostgres;

/// <summary>The last lines of a child's output, quoted when it fails.</summary>
internal sealed class LogTail(int capacity)
{
    private readonly Queue<string> _lines = new();

    public void Add(string line)
    {
        lock (_lines)
        {
            _lines.Enqueue(line);
            while (_lines.Count > capacity)
                _lines.Dequeue();
        }
    }

    public override string ToString()
    {
        lock (_lines)
            return _lines.Count == 0 ? "(no output)" : string.Join('\n', _lines);
    }
}
