using System.Diagnostics;
using System.Globalization;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Wrenn.Testing.Egress;

namespace Wrenn.Network.Tests;

/// <summary>
/// A STAND-IN GUEST for the egress tests: a python3 process inside the sandbox namespace holding the
/// guest address on its loopback, which resolves names and opens connections from that address as the
/// guest would, on command. Its DNS queries go to the guest's DNS server (the gateway,
/// 169.254.0.22:53): being local packets of the namespace, not forwarded from the TAP, they take the
/// namespace's output path — the output_nat chain DNATs them to the resolver exactly as prerouting
/// does a real guest's, and the output chain sends them, like every packet from the guest address,
/// through the egress chain. (The TAP path itself is covered by the VM tests.)
/// </summary>
public sealed class StandInGuest : IAsyncDisposable
{
    private const string Script = """
        import random, socket, struct, sys
        GUEST, DNS = sys.argv[1], sys.argv[2]
        connections = {}
        def name_at(r, i):
            labels, end = [], None
            while True:
                n = r[i]
                if n == 0:
                    i += 1
                    break
                if n & 0xc0 == 0xc0:
                    if end is None:
                        end = i + 2
                    i = ((n & 0x3f) << 8) | r[i + 1]
                    continue
                labels.append(r[i + 1:i + 1 + n].decode())
                i += n + 1
            return '.'.join(labels), (end if end is not None else i)
        def exactly(s, n):
            b = b''
            while len(b) < n:
                c = s.recv(n - len(b))
                if not c:
                    raise OSError('closed')
                b += c
            return b
        def resolve(transport, name):
            q = struct.pack('>HHHHHH', random.randrange(65536), 0x0100, 1, 0, 0, 0)
            q += b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\0' + struct.pack('>HH', 1, 1)
            if transport == 'tcp':
                s = socket.socket(); s.settimeout(3); s.bind((GUEST, 0)); s.connect((DNS, 53))
                s.sendall(struct.pack('>H', len(q)) + q)
                r = exactly(s, struct.unpack('>H', exactly(s, 2))[0])
            else:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3); s.bind((GUEST, 0))
                s.sendto(q, (DNS, 53)); r = s.recv(4096)
            s.close()
            rcode = r[3] & 15
            out = [{0: 'NOERROR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 5: 'REFUSED'}.get(rcode, 'RCODE%d' % rcode)]
            _, i = name_at(r, 12)
            i += 4
            for _ in range(struct.unpack('>H', r[6:8])[0]):
                _, i = name_at(r, i)
                kind, _, ttl, n = struct.unpack('>HHIH', r[i:i + 10])
                i += 10
                if kind == 1:
                    out.append('A:%s:%d' % (socket.inet_ntoa(r[i:i + 4]), ttl))
                elif kind == 5:
                    out.append('CNAME:%s:%d' % (name_at(r, i)[0], ttl))
                i += n
            return ' '.join(out)
        def connect(address, port):
            s = socket.socket(); s.settimeout(1); s.bind((GUEST, 0))
            try:
                s.connect((address, int(port)))
            except OSError:
                s.close()
                raise
            s.settimeout(3)
            f = s.makefile('rb')
            return s, f, f.readline().decode().strip()
        for line in sys.stdin:
            c = line.split()
            try:
                if c[0] == 'resolve':
                    reply = resolve(c[1], c[2])
                elif c[0] == 'connect':
                    s, f, reply = connect(c[1], c[2])
                    s.close()
                elif c[0] == 'open':
                    s, f, reply = connect(c[2], c[3])
                    connections[c[1]] = (s, f)
                elif c[0] == 'echo':
                    s, f = connections[c[1]]
                    s.sendall((c[2] + '\n').encode())
                    reply = f.readline().decode().strip() or 'closed'
            except TimeoutError:
                reply = 'timeout'
            except OSError as e:
                reply = 'error ' + str(e)
            print(reply, flush=True)
        """;

    private readonly Process _process;
    private readonly SemaphoreSlim _oneCommand = new(1, 1);

    private bool _disposed;

    private StandInGuest(Process process) => _process = process;

    public static async Task<StandInGuest> StartAsync(NetworkSlot slot)
    {
        await HostCommand.RunAsync("ip", ["-n", slot.Namespace, "addr", "replace", $"{slot.Guest.Address}/32", "dev", "lo"], CancellationToken.None);
        var start = new ProcessStartInfo("ip") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "netns", "exec", slot.Namespace, "python3", "-u", "-c", Script, slot.Guest.Address.ToString(), slot.Guest.DnsServer!.ToString() })
            start.ArgumentList.Add(arg);
        return new StandInGuest(Process.Start(start)!);
    }

    /// <summary>Resolves <paramref name="name"/> (A) at the guest's DNS server, over UDP or TCP.</summary>
    public async Task<DnsAnswer> ResolveAsync(string name, bool tcp = false) =>
        DnsAnswer.Parse(await SendAsync($"resolve {(tcp ? "tcp" : "udp")} {name}"));

    /// <summary>Connects to an upstream host: the address it greets with, or "unreachable" (no answer within 1 s).</summary>
    public async Task<string> ConnectAsync(string address) => Reached(await SendAsync($"connect {address} {UpstreamHosts.Port}"));

    /// <summary>Opens a connection named <paramref name="id"/> and keeps it: the greeting, or "unreachable".</summary>
    public async Task<string> OpenAsync(string id, string address) => Reached(await SendAsync($"open {id} {address} {UpstreamHosts.Port}"));

    /// <summary>Sends a line on connection <paramref name="id"/>: the line echoed back, or what went wrong.</summary>
    public Task<string> EchoAsync(string id, string text) => SendAsync($"echo {id} {text}");

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // exited already
        }
        _process.Dispose();
    }

    private static string Reached(string reply) => reply.StartsWith("timeout", StringComparison.Ordinal) || reply.StartsWith("error", StringComparison.Ordinal) ? "unreachable" : reply;

    private async Task<string> SendAsync(string command)
    {
        await _oneCommand.WaitAsync();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _process.StandardInput.WriteLineAsync(command.AsMemory(), timeout.Token);
            await _process.StandardInput.FlushAsync(timeout.Token);
            return await _process.StandardOutput.ReadLineAsync(timeout.Token)
                ?? throw new InvalidOperationException("the stand-in guest exited: " + await _process.StandardError.ReadToEndAsync());
        }
        finally
        {
            _oneCommand.Release();
        }
    }
}

/// <summary>What the stand-in guest's resolver got: the return code and the answer's records.</summary>
public sealed record DnsAnswer(string Code, IReadOnlyList<(string Address, int Ttl)> Addresses, IReadOnlyList<string> Cnames)
{
    public static DnsAnswer Parse(string line)
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var addresses = fields.Skip(1).Where(f => f.StartsWith("A:", StringComparison.Ordinal))
            .Select(f => f.Split(':')).Select(p => (p[1], int.Parse(p[2], CultureInfo.InvariantCulture))).ToList();
        var cnames = fields.Skip(1).Where(f => f.StartsWith("CNAME:", StringComparison.Ordinal)).Select(f => f.Split(':')[1]).ToList();
        return new DnsAnswer(fields.Length > 0 ? fields[0] : line, addresses, cnames);
    }

    public IEnumerable<string> AddressList => Addresses.Select(a => a.Address);

    public override string ToString() => $"{Code} [{string.Join(", ", Addresses.Select(a => $"{a.Address} ttl {a.Ttl}"))}] cnames [{string.Join(", ", Cnames)}]";
}
