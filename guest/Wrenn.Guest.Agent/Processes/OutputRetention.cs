using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Processes;

/// <summary>Which stream a piece of output came from.</summary>
internal enum OutputKind
{
    Stdout,
    Stderr,
    Pty,
}

/// <summary>A piece of output as one read returned it.</summary>
internal readonly record struct OutputChunk(OutputKind Kind, ReadOnlyMemory<byte> Data)
{
    public ProcessEvent ToEvent()
    {
        var output = new Output { Data = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(Data) };
        return Kind switch
        {
            OutputKind.Stdout => new ProcessEvent { Stdout = output },
            OutputKind.Stderr => new ProcessEvent { Stderr = output },
            _ => new ProcessEvent { Pty = output },
        };
    }
}

/// <summary>
/// The last <see cref="Capacity"/> bytes of a process's output, in order, for callers that attach
/// later. Not thread-safe: its owner holds a lock.
/// </summary>
internal sealed class OutputRetention(int capacity)
{
    private readonly LinkedList<OutputChunk> _chunks = new();

    public int Capacity { get; } = capacity;

    public long Bytes { get; private set; }

    public void Add(OutputChunk chunk)
    {
        _chunks.AddLast(chunk);
        Bytes += chunk.Data.Length;
        while (Bytes > Capacity)
        {
            var oldest = _chunks.First!.Value;
            var excess = Bytes - Capacity;
            if (oldest.Data.Length <= excess)
            {
                _chunks.RemoveFirst();
                Bytes -= oldest.Data.Length;
            }
            else
            {
                // Cut the oldest chunk so that exactly the last Capacity bytes stay.
                _chunks.First.Value = oldest with { Data = oldest.Data[(int)excess..] };
                Bytes -= excess;
            }
        }
    }

    public OutputChunk[] Snapshot() => [.. _chunks];
}
