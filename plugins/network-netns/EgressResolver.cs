using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ARSoft.Tools.Net.Dns;
using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;

namespace Wrenn.Plugins.Network.Netns;

/// <summary>
/// The DNS resolver of every sandbox of one plugin instance, in the silo process (ARSoft.Tools.Net's
/// <see cref="DnsServer"/>, UDP and TCP). Each namespace DNATs its guest's port-53 packets here, and
/// masquerades them, so a query arrives from the slot's namespace end (10.x.y.2), which names the
/// slot and so its policy. A name the policy does not allow gets NXDOMAIN; an allowed one is asked
/// upstream and, when the policy keeps the internet closed, every address of its answer (the CNAME
/// chain's too) is admitted to the slot's resolved set for the record's TTL before the guest sees it.
/// <para>
/// It listens on 0.0.0.0 (one UDP socket, one TCP listener, whatever the number of slots; the port is
/// known before any slot exists and never rebinds as slots come and go) and answers only sources that
/// are registered slots' namespace ends — anything else gets REFUSED, no bigger than its query and
/// with nothing resolved. Binding each slot's host end instead would take two sockets per slot, and
/// a port free on all of them. The owner's root table lets the guests' links reach only this port.
/// </para>
/// </summary>
internal sealed partial class EgressResolver : IAsyncDisposable
{
    /// <summary>How long one upstream server gets for one question before the next is asked.</summary>
    private const int UpstreamTimeoutMs = 4000;

    /// <summary>
    /// The longest an address stays admitted (and the longest TTL a guest is given for it): a day.
    /// A longer TTL is cut to this in the answer, so the guest asks again before its address goes.
    /// </summary>
    private const int MaxAdmitSeconds = 86400;

    private readonly DnsServer _server;
    private readonly IReadOnlyList<(IPEndPoint Endpoint, DnsClient Client)> _upstream;
    private readonly ConcurrentDictionary<IPAddress, SandboxEgress> _sandboxes = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationToken _stoppingToken;
    private readonly ILogger _logger;
    private int _disposed;

    private EgressResolver(DnsServer server, int port, IReadOnlyList<IPEndPoint> upstream, ILogger logger)
    {
        _server = server;
        _stoppingToken = _stopping.Token;
        Port = port;
        _logger = logger;
        _upstream = upstream.Select(e => (e, new DnsClient([e.Address],
            [new UdpClientTransport(e.Port), new TcpClientTransport(e.Port)], disposeTransport: true, UpstreamTimeoutMs))).ToList();
        _server.QueryReceived += OnQueryAsync;
        _server.ExceptionThrown += (_, e) =>
        {
            LogServerError(e.Exception);
            return Task.CompletedTask;
        };
    }

    /// <summary>The UDP and TCP port it listens on, in the root namespace.</summary>
    public int Port { get; }

    /// <summary>
    /// Starts listening on <paramref name="port"/> (0: a free one, the same for UDP and TCP).
    /// </summary>
    /// <exception cref="InvalidOperationException">A configured port is in use.</exception>
    public static EgressResolver Start(int port, IReadOnlyList<IPEndPoint> upstream, ILogger logger)
    {
        for (var attempt = 1; ; attempt++)
        {
            var candidate = port != 0 ? port : FreeUdpPort();
            var server = new DnsServer(
                new UdpServerTransport(new IPEndPoint(IPAddress.Any, candidate)),
                new TcpServerTransport(new IPEndPoint(IPAddress.Any, candidate)));
            try
            {
                server.Start();
            }
            catch (SocketException e)
            {
                ((IDisposable)server).Dispose();
                // A free UDP port may be taken for TCP, or taken by someone else meanwhile: another.
                if (port == 0 && attempt < 20)
                    continue;
                throw new InvalidOperationException(port != 0
                    ? $"The sandbox DNS resolver cannot listen on port {port} (Wrenn:Plugins:netns:Resolver:Port): {e.Message}. Choose a free port, or 0 for any."
                    : $"The sandbox DNS resolver found no port free for both UDP and TCP in {attempt} tries: {e.Message}.", e);
            }
            var resolver = new EgressResolver(server, candidate, upstream, logger);
            resolver.LogStarted(candidate, upstream.Count == 0 ? "none (every allowed name gets SERVFAIL)" : string.Join(", ", upstream));
            return resolver;
        }
    }

    /// <summary>
    /// Puts <paramref name="policy"/> in force for the slot whose namespace end is
    /// <paramref name="namespaceEnd"/>, registering it if new. <paramref name="load"/> loads the slot's
    /// rules, given the policy this resolver last held for it (null: none, as after a restart), and
    /// returns whether it flushed the resolved set; no query of the slot admits addresses meanwhile,
    /// and when it throws, the policy before stays.
    /// </summary>
    public async Task SetPolicyAsync(IPAddress namespaceEnd, string @namespace, EgressPolicy policy,
        Func<EgressPolicy?, CancellationToken, Task<bool>> load, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var sandbox = _sandboxes.GetOrAdd(namespaceEnd, _ => new SandboxEgress(@namespace));
        await sandbox.Gate.WaitAsync(ct);
        try
        {
            var flushed = await load(sandbox.Policy, ct);
            if (flushed)
                sandbox.AdmittedUntil.Clear();
            sandbox.Policy = policy;
        }
        catch when (sandbox.Policy is null)
        {
            // Never in force: not registered either (a slot whose namespace is gone, say).
            _sandboxes.TryRemove(new KeyValuePair<IPAddress, SandboxEgress>(namespaceEnd, sandbox));
            throw;
        }
        finally
        {
            sandbox.Gate.Release();
        }
    }

    /// <summary>Forgets a slot: its queries are refused from now on, and none in flight admits anything.</summary>
    public async Task ForgetAsync(IPAddress namespaceEnd)
    {
        if (!_sandboxes.TryRemove(namespaceEnd, out var sandbox))
            return;
        await sandbox.Gate.WaitAsync();
        sandbox.Forgotten = true;
        sandbox.Gate.Release();
    }

    /// <summary>Whether the slot whose namespace end is <paramref name="namespaceEnd"/> is registered (for tests).</summary>
    public bool Knows(IPAddress namespaceEnd) => _sandboxes.ContainsKey(namespaceEnd);

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return ValueTask.CompletedTask;
        _stopping.Cancel();
        ((IDisposable)_server).Dispose();
        foreach (var (_, client) in _upstream)
            ((IDisposable)client).Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task OnQueryAsync(object sender, QueryReceivedEventArgs e)
    {
        if (e.Query is not DnsMessage query)
            return; // not a plain query (an update, say): the server answers SERVFAIL
        var response = query.CreateResponseInstance();
        response.IsRecursionAllowed = true;
        e.Response = response;
        if (!_sandboxes.TryGetValue(e.RemoteEndpoint.Address, out var sandbox) || sandbox.Policy is not { } policy)
        {
            response.ReturnCode = ReturnCode.Refused;
            return;
        }
        if (query.OperationCode != OperationCode.Query || query.Questions.Count != 1)
        {
            response.ReturnCode = query.OperationCode != OperationCode.Query ? ReturnCode.NotImplemented : ReturnCode.FormatError;
            return;
        }
        var question = query.Questions[0];
        var name = question.Name.ToString(false);
        if (!policy.AllowsName(name))
        {
            LogRefusedName(sandbox.Namespace, name, question.RecordType);
            response.ReturnCode = ReturnCode.NxDomain;
            return;
        }
        var answer = await AskUpstreamAsync(query, sandbox, name);
        if (answer is null)
        {
            response.ReturnCode = ReturnCode.ServerFailure;
            return;
        }
        response.ReturnCode = answer.ReturnCode;
        var records = answer.AnswerRecords;
        try
        {
            records = await AdmitAsync(sandbox, name, question.Name, records);
        }
        catch (PolicyChangedException)
        {
            LogRefusedName(sandbox.Namespace, name, question.RecordType);
            response.ReturnCode = ReturnCode.NxDomain;
            return;
        }
        catch (Exception ex) when (ex is HostCommandException or InvalidOperationException or OperationCanceledException)
        {
            LogAdmitFailed(sandbox.Namespace, name, ex);
            response.ReturnCode = ReturnCode.ServerFailure;
            return;
        }
        response.AnswerRecords.AddRange(records);
        response.AuthorityRecords.AddRange(answer.AuthorityRecords);
        response.AdditionalRecords.AddRange(answer.AdditionalRecords.Where(r => r.RecordType != RecordType.Opt));
    }

    /// <summary>The upstream servers' answer, from the first that answers other than SERVFAIL; null if none does.</summary>
    private async Task<DnsMessage?> AskUpstreamAsync(DnsMessage query, SandboxEgress sandbox, string name)
    {
        var question = query.Questions[0];
        string reason = "no upstream server is configured (Wrenn:Plugins:netns:Resolver:Upstream) or in /etc/resolv.conf";
        foreach (var (endpoint, client) in _upstream)
        {
            var ask = new DnsMessage
            {
                IsQuery = true,
                OperationCode = OperationCode.Query,
                IsRecursionDesired = true,
                IsCheckingDisabled = query.IsCheckingDisabled,
                IsEDnsEnabled = true,
            };
            if (query.IsDnsSecOk)
                ask.IsDnsSecOk = true;
            ask.Questions.Add(new DnsQuestion(question.Name, question.RecordType, question.RecordClass));
            try
            {
                var answer = await client.SendMessageAsync(ask, _stoppingToken);
                if (answer is not null && answer.ReturnCode != ReturnCode.ServerFailure)
                    return answer;
                reason = answer is null ? $"{endpoint} did not answer" : $"{endpoint} answered SERVFAIL";
            }
            catch (Exception ex) when (ex is SocketException or IOException or TimeoutException or OperationCanceledException or ObjectDisposedException)
            {
                reason = $"{endpoint}: {ex.Message}";
            }
        }
        LogUpstreamFailed(sandbox.Namespace, name, question.RecordType, reason);
        return null;
    }

    /// <summary>
    /// With the internet closed, admits the addresses of <paramref name="asked"/>'s answer (its A
    /// records, and its CNAME targets') to the slot's resolved set, each until its TTL runs out (at
    /// least 1 s; an address admitted for longer keeps the longer); returns the records for the guest
    /// (TTLs cut to what was admitted). Under the slot's gate, against the policy in force now.
    /// </summary>
    /// <exception cref="PolicyChangedException">The name is no longer allowed, or the slot is gone.</exception>
    private async Task<List<DnsRecordBase>> AdmitAsync(SandboxEgress sandbox, string name, ARSoft.Tools.Net.DomainName asked, List<DnsRecordBase> records)
    {
        await sandbox.Gate.WaitAsync(_stoppingToken);
        try
        {
            if (sandbox.Forgotten || sandbox.Policy is not { } policy || !policy.AllowsName(name))
                throw new PolicyChangedException();
            if (policy.Internet)
                return records;
            // The chain: the asked name, then each CNAME target reached from it.
            var chain = new HashSet<ARSoft.Tools.Net.DomainName> { asked };
            for (var grew = true; grew;)
            {
                grew = false;
                foreach (var cname in records.OfType<CNameRecord>())
                    if (chain.Contains(cname.Name) && chain.Add(cname.CanonicalName))
                        grew = true;
            }
            var addresses = records.OfType<ARecord>().Where(a => chain.Contains(a.Name)).ToList();
            if (addresses.Count == 0)
                return records;
            var now = DateTime.UtcNow;
            var admit = new Dictionary<IPAddress, int>();
            foreach (var a in addresses)
            {
                var seconds = Math.Clamp(a.TimeToLive, 1, MaxAdmitSeconds);
                if (sandbox.AdmittedUntil.TryGetValue(a.Address, out var until))
                    seconds = Math.Max(seconds, (int)Math.Ceiling(Math.Min((until - now).TotalSeconds, MaxAdmitSeconds)));
                admit[a.Address] = Math.Max(admit.GetValueOrDefault(a.Address), seconds);
            }
            await HostCommand.RunAsync("ip", ["netns", "exec", sandbox.Namespace, "nft", "-f", "-"], _stoppingToken,
                NftRules.Admit([.. admit.Select(a => (a.Key, a.Value))]));
            foreach (var (address, seconds) in admit)
                sandbox.AdmittedUntil[address] = now.AddSeconds(seconds);
            LogAdmitted(sandbox.Namespace, name, string.Join(", ", admit.Select(a => $"{a.Key} for {a.Value.ToString(CultureInfo.InvariantCulture)} s")));
            // The guest keeps no record longer than its address stays admitted: an A record's TTL
            // is cut to the day at most, and a CNAME's to its chain's shortest address TTL (else the
            // guest, holding the alias, would ask for the target's name itself, which it may not).
            var shortest = addresses.Min(a => Math.Clamp(a.TimeToLive, 0, MaxAdmitSeconds));
            return records.Select(r => r switch
            {
                ARecord a when chain.Contains(a.Name) && a.TimeToLive > MaxAdmitSeconds => new ARecord(a.Name, MaxAdmitSeconds, a.Address),
                CNameRecord c when chain.Contains(c.Name) && c.TimeToLive > shortest => new CNameRecord(c.Name, shortest, c.CanonicalName),
                _ => r,
            }).ToList();
        }
        finally
        {
            sandbox.Gate.Release();
        }
    }

    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Any, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>
    /// The upstream servers: <paramref name="configured"/> (<c>address[:port]</c>, separated by commas
    /// or spaces) or, when it is empty, the nameservers of <paramref name="resolvConf"/>.
    /// </summary>
    /// <exception cref="FormatException">A configured entry is not <c>address[:port]</c>; the message names it.</exception>
    public static IReadOnlyList<IPEndPoint> Upstream(string? configured, string resolvConf = "/etc/resolv.conf")
    {
        var entries = (configured ?? "").Split([',', ' ', '\t', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (entries.Length > 0)
            return entries.Select(entry => ParseEndpoint(entry) ?? throw new FormatException(
                $"Wrenn:Plugins:netns:Resolver:Upstream: \"{entry}\" is not address[:port] (IPv6 as [address]:port).")).ToList();
        if (!File.Exists(resolvConf))
            return [];
        return File.ReadLines(resolvConf)
            .Select(line => line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields is ["nameserver", _, ..])
            .Select(fields => IPAddress.TryParse(fields[1], out var address) ? new IPEndPoint(address, 53) : null)
            .OfType<IPEndPoint>().ToList();
    }

    private static IPEndPoint? ParseEndpoint(string entry)
    {
        if (IPAddress.TryParse(entry, out var bare))
            return new IPEndPoint(bare, 53);
        return IPEndPoint.TryParse(entry, out var endpoint) && endpoint.Port != 0 ? endpoint : null;
    }

    /// <summary>What the resolver holds for one slot.</summary>
    private sealed class SandboxEgress(string @namespace)
    {
        public string Namespace { get; } = @namespace;

        /// <summary>The policy in force; null until the first is loaded.</summary>
        public EgressPolicy? Policy { get; set; }

        /// <summary>Serialises loading the slot's rules and admitting addresses to them.</summary>
        public SemaphoreSlim Gate { get; } = new(1, 1);

        /// <summary>Until when each admitted address stays in the resolved set (as far as this resolver knows).</summary>
        public Dictionary<IPAddress, DateTime> AdmittedUntil { get; } = [];

        /// <summary>Released: nothing is admitted for it any more.</summary>
        public bool Forgotten { get; set; }
    }

    /// <summary>The slot's policy no longer allows the name (it changed while the name was asked upstream), or the slot went.</summary>
    private sealed class PolicyChangedException : Exception;

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox DNS resolver listening on port {Port} (UDP and TCP); upstream: {Upstream}")]
    private partial void LogStarted(int port, string upstream);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Refused {Name} ({Type}) for netns {Namespace}: its egress policy does not allow it (NXDOMAIN)")]
    private partial void LogRefusedName(string @namespace, string name, RecordType type);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Admitted for netns {Namespace}, resolving {Name}: {Addresses}")]
    private partial void LogAdmitted(string @namespace, string name, string addresses);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No upstream DNS server answered {Name} ({Type}) for netns {Namespace}: {Reason}; answered SERVFAIL")]
    private partial void LogUpstreamFailed(string @namespace, string name, RecordType type, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not admit the addresses of {Name} for netns {Namespace}; answered SERVFAIL")]
    private partial void LogAdmitFailed(string @namespace, string name, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The sandbox DNS resolver failed on a query")]
    private partial void LogServerError(Exception exception);
}
