using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;

namespace Wrenn.Testing.Egress;

/// <summary>
/// The sandbox resolver's upstream in the egress tests: a DNS server of the test's own (ARSoft's
/// <see cref="DnsServer"/>, UDP and TCP, in the test process on 127.0.0.1 at a free port) answering
/// made-up names under <see cref="Zone"/> with the <see cref="UpstreamHosts"/>' addresses:
/// <list type="bullet">
/// <item><c>one</c>: host 0. <c>multi</c>: all three hosts.</item>
/// <item><c>alias</c>: a CNAME to <c>target</c>, which is host 1.</item>
/// <item><c>short</c>: host 2 with a TTL of <see cref="ShortTtl"/> seconds.</item>
/// <item><c>a.wild</c>: host 0, <c>b.wild</c>: host 1, <c>wild</c> itself: host 2.</item>
/// <item><c>denied</c>: host 2.</item>
/// </list>
/// Any other name is NXDOMAIN. It records every name it is asked.
/// </summary>
public sealed class TestDnsServer : IDisposable
{
    public const string Zone = "egress.test";
    public const int ShortTtl = 2;
    private const int Ttl = 60;

    private readonly DnsServer _server;
    private readonly List<DnsRecordBase> _records = [];

    private TestDnsServer(DnsServer server, int port, UpstreamHosts hosts)
    {
        _server = server;
        Port = port;
        var h = hosts.Addresses.Select(IPAddress.Parse).ToList();
        A("one", h[0]);
        foreach (var address in h)
            A("multi", address);
        _records.Add(new CNameRecord(DomainName.Parse(Name("alias")), Ttl, DomainName.Parse(Name("target"))));
        A("target", h[1]);
        _records.Add(new ARecord(DomainName.Parse(Name("short")), ShortTtl, h[2]));
        A("a.wild", h[0]);
        A("b.wild", h[1]);
        A("wild", h[2]);
        A("denied", h[2]);
        _server.QueryReceived += OnQueryAsync;
    }

    /// <summary>Where it listens: <c>127.0.0.1:port</c>, as the resolver's Upstream option takes it.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    public int Port { get; }

    /// <summary>Every name it was asked, in order (lower case, no trailing dot).</summary>
    public ConcurrentQueue<string> Asked { get; } = new();

    public static string Name(string label) => $"{label}.{Zone}";

    public static TestDnsServer Start(UpstreamHosts hosts)
    {
        for (var attempt = 1; ; attempt++)
        {
            int port;
            using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            {
                probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                port = ((IPEndPoint)probe.LocalEndPoint!).Port;
            }
            var server = new DnsServer(new UdpServerTransport(new IPEndPoint(IPAddress.Loopback, port)),
                new TcpServerTransport(new IPEndPoint(IPAddress.Loopback, port)));
            try
            {
                server.Start();
                return new TestDnsServer(server, port, hosts);
            }
            catch (SocketException) when (attempt < 20)
            {
                ((IDisposable)server).Dispose();
            }
        }
    }

    public void Dispose() => ((IDisposable)_server).Dispose();

    private List<DnsRecordBase> RecordsOf(DomainName name) => [.. _records.Where(r => r.Name.Equals(name))];

    private void A(string label, IPAddress address) => _records.Add(new ARecord(DomainName.Parse(Name(label)), Ttl, address));

    private Task OnQueryAsync(object sender, QueryReceivedEventArgs e)
    {
        if (e.Query is not DnsMessage { Questions: [var question] } query)
            return Task.CompletedTask;
        Asked.Enqueue(question.Name.ToString(false).ToLowerInvariant());
        var response = query.CreateResponseInstance();
        response.IsAuthoritiveAnswer = true;
        response.IsRecursionAllowed = true;
        e.Response = response;
        var name = question.Name;
        if (RecordsOf(name).Count == 0)
        {
            response.ReturnCode = ReturnCode.NxDomain;
            return Task.CompletedTask;
        }
        // A recursive resolver's answer: the CNAME chain, then the asked type's records of its end.
        for (var hops = 0; hops < 8; hops++)
        {
            var records = RecordsOf(name);
            if (records is [CNameRecord cname] && question.RecordType != RecordType.CName)
            {
                response.AnswerRecords.Add(cname);
                name = cname.CanonicalName;
                continue;
            }
            response.AnswerRecords.AddRange(records.Where(r => r.RecordType == question.RecordType || question.RecordType == RecordType.Any));
            break;
        }
        return Task.CompletedTask;
    }
}
